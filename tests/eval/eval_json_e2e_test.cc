// `slm eval` on an extraction (json) task with a local model: decoding is constrained by the task's schema,
// so even a random tiny model answers with documents that parse and validate.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <sys/wait.h>

#include <cstdio>
#include <fstream>
#include <set>

#include "common/subprocess.h"
#include "common/testdata.h"

namespace slm {
namespace {

using testing::Output;
using testing::quote;

Output slm(const std::string& args) { return testing::run_slm(args, false); }

TEST(EvalJsonE2E, LocalModelAnswersValidateAgainstTheSchema) {
  testing::TempDir dir;
  {
    std::ofstream train(dir.file("train.jsonl")), eval(dir.file("eval.jsonl"));
    const char* msgs[] = {"urgent: pay the invoice today", "lunch on friday?", "urgent: server down", "notes attached"};
    for (int i = 0; i < 8; ++i) {
      const bool urgent = i % 2 == 0;
      const nlohmann::json out = {{"kind", urgent ? "alert" : "chat"}, {"urgent", urgent}};
      (i < 4 ? train : eval) << nlohmann::json{{"msg", msgs[i % 4]}, {"out", out.dump()}}.dump() << "\n";
    }
  }
  std::ofstream(dir.file("task.yaml"))
      << "name: tiny-extract\n"
         "input: \"Message: {text}\\nJSON:\"\n"
         "output:\n"
         "  kind: json\n"
         "  schema:\n"
         "    type: object\n"
         "    properties:\n"
         "      kind: {enum: [alert, chat, other]}\n"
         "      urgent: {type: boolean}\n"
         "    required: [kind, urgent]\n"
         "    additionalProperties: false\n"
         "data: {train: train.jsonl, eval: eval.jsonl, fields: {text: msg, output: out}}\n"
         "serving: {max_tokens: 48}\n";
  const Output synth = slm("synth-model --shape tiny --type F32 -o " + quote(dir.file("tiny.gguf")));
  ASSERT_EQ(synth.rc, 0) << synth.err;
  const Output o = slm("eval -q --task " + quote(dir.file("task.yaml")) + " --model " + quote(dir.file("tiny.gguf")) +
                           " --json --predictions");
  ASSERT_EQ(o.rc, 0) << o.err;
  const auto j = nlohmann::json::parse(o.out);
  const nlohmann::json* model = nullptr;
  for (const auto& c : j["candidates"])
    if (c["kind"] == "local") model = &c;
  ASSERT_NE(model, nullptr) << o.out;
  EXPECT_EQ((*model)["errors"], 0);
  EXPECT_DOUBLE_EQ((*model)["extraction"]["json_validity"].get<double>(), 1.0);
  ASSERT_EQ((*model)["predictions"].size(), 4u);
  const std::set<std::string> kinds = {"alert", "chat", "other"};
  for (const auto& p : (*model)["predictions"]) {
    const std::string text = p["output"];
    const auto doc = nlohmann::json::parse(text, nullptr, false);
    ASSERT_FALSE(doc.is_discarded()) << text;
    ASSERT_TRUE(doc.is_object()) << text;
    EXPECT_EQ(doc.size(), 2u) << text;  // additionalProperties: false
    ASSERT_TRUE(doc.contains("kind") && doc["kind"].is_string()) << text;
    EXPECT_TRUE(kinds.count(doc["kind"].get<std::string>())) << text;
    ASSERT_TRUE(doc.contains("urgent")) << text;
    EXPECT_TRUE(doc["urgent"].is_boolean()) << text;
  }
}

}  // namespace
}  // namespace slm
