// Distillation from the real stories260K: a small random student trained against the teacher's top-32
// distribution gets its KL divergence to the teacher down on held-out text.
#include <gtest/gtest.h>

#include <fstream>

#include "common/testdata.h"
#include "core/thread_pool.h"
#include "model/model.h"
#include "tokenizer/tokenizer.h"
#include "train/trainer.h"

namespace slm::train {
namespace {

TEST(StoriesDistill, StudentKlFalls) {
  SLM_REQUIRE_TESTDATA(path, "models/stories260K/stories260K.gguf");
  const model::Model teacher_model = model::Model::load(path.string());
  const tok::Tokenizer tok = tok::Tokenizer::from_gguf(*teacher_model.gguf());
  testing::TempDir tmp;
  {
    std::ofstream f(tmp.file("train.txt"));
    for (int i = 0; i < 6; ++i)
      f << "Once upon a time, there was a little girl named Lily. She liked to play in the park with her dog. "
           "One day, the sun was big and the sky was blue. Lily was happy and she ran to see her mom.\n";
    std::ofstream e(tmp.file("eval.txt"));
    e << "Once upon a time, there was a boy named Tim. He liked to play with his ball in the park.\n";
  }
  const Dataset train_data = load_data(tmp.file("train.txt"), tok, {.seq_len = 32});
  const Dataset eval_data = load_data(tmp.file("eval.txt"), tok, {.seq_len = 32});
  ASSERT_FALSE(train_data.seqs.empty());
  model::ModelConfig c = teacher_model.config();
  c.dim = 32, c.n_layer = 1, c.n_head = 4, c.n_head_kv = 2, c.head_dim = 8, c.rope_dim = 8, c.ffn_dim = 64;
  c.tied_embeddings = true;
  Net<float> student = Net<float>::random(c, 3, 0.05f);
  student.set_full_trainable();
  ThreadPool pool(1);
  student.set_pool(&pool);
  const Teacher teacher(teacher_model, {.top_k = 32, .temperature = 2.0f, .alpha = 0.8f});
  const double before = evaluate_kl(student, eval_data, teacher);
  TrainOptions o;
  o.steps = 40, o.batch = 2, o.schedule = {.lr = 1e-2f, .warmup = 2, .total = 40};
  o.teacher = &teacher;
  train(student, train_data, nullptr, o);
  const double after = evaluate_kl(student, eval_data, teacher);
  EXPECT_GT(before, 0.5);
  EXPECT_LT(after, 0.7 * before) << "before " << before;
}

}  // namespace
}  // namespace slm::train
