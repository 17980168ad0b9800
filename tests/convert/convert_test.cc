// Converter units: the q/k permutation against its definition, pre-tokenizer detection, tokenizer.json
// vocabularies (byte-level and SentencePiece-style), side-file values, tensor names, and a hand-built
// sharded Hugging Face folder converted end to end.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <fstream>

#include "common/testdata.h"
#include "convert/convert.h"
#include "convert/families.h"
#include "convert/hf_vocab.h"
#include "convert/side_file.h"
#include "convert/tensor_ops.h"
#include "core/error.h"
#include "core/f16.h"
#include "io/gguf.h"
#include "io/safetensors.h"

namespace slm::convert {
namespace {

using json = nlohmann::json;
using slm::testing::TempDir;

const gguf::Value* find_kv(const std::vector<gguf::KeyValue>& kv, const std::string& key) {
  for (const gguf::KeyValue& k : kv)
    if (k.key == key) return &k.value;
  return nullptr;
}

TEST(PermuteQk, MatchesTheReshapeSwapaxesDefinition) {
  // w.reshape(n_head, 2, head_dim / 2, ...).swapaxes(1, 2): GGUF row (h, 2i + j) = HF row (h, j * half + i).
  std::vector<uint8_t> rows = {0, 1, 2, 3, 4, 5, 6, 7};
  EXPECT_EQ(permute_qk(rows, 8, 1, 2), (std::vector<uint8_t>{0, 2, 1, 3, 4, 6, 5, 7}));
  EXPECT_EQ(permute_qk(rows, 8, 1, 1), (std::vector<uint8_t>{0, 4, 1, 5, 2, 6, 3, 7}));
  EXPECT_EQ(unpermute_qk(permute_qk(rows, 8, 1, 1), 8, 1, 1), rows);
  // Whole rows move: two bytes per row.
  std::vector<uint8_t> wide = {0, 0, 1, 1, 2, 2, 3, 3};
  EXPECT_EQ(permute_qk(wide, 4, 2, 1), (std::vector<uint8_t>{0, 0, 2, 2, 1, 1, 3, 3}));
  EXPECT_THROW(permute_qk(rows, 8, 1, 3), Error);  // 8 rows do not split over 3 heads
}

TEST(OutputType, NormsAndBiasesStayF32AndQ8_0FallsBack) {
  EXPECT_EQ(output_type("blk.0.attn_norm.weight", 1, 64, DType::F16, DType::Q8_0), DType::F32);
  EXPECT_EQ(output_type("blk.0.attn_q.bias", 1, 64, DType::F16, std::nullopt), DType::F32);
  EXPECT_EQ(output_type("blk.0.attn_q.weight", 2, 64, DType::BF16, std::nullopt), DType::BF16);
  EXPECT_EQ(output_type("blk.0.attn_q.weight", 2, 64, DType::BF16, DType::Q8_0), DType::Q8_0);
  EXPECT_EQ(output_type("blk.0.ffn_down.weight", 2, 172, DType::F32, DType::Q8_0), DType::F16);
  EXPECT_EQ(parse_output_type("Q8_0"), DType::Q8_0);
  EXPECT_THROW(parse_output_type("q4_k"), Error);
}

TEST(DetectPre, NamesTheKnownByteLevelPreTokenizers) {
  const json bl_regex = {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", true}};
  const json bl_plain = {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", false}};
  auto split = [](const std::string& re) {
    return json{{"type", "Split"}, {"pattern", {{"Regex", re}}}, {"behavior", "Isolated"}, {"invert", false}};
  };
  const std::string l3 =
      "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
  std::string q2 = l3;
  q2.replace(q2.find("\\p{N}{1,3}"), 10, "\\p{N}");
  EXPECT_EQ(detect_pre({{"type", "Sequence"}, {"pretokenizers", {split(l3), bl_plain}}}), "llama-bpe");
  EXPECT_EQ(detect_pre({{"type", "Sequence"}, {"pretokenizers", {split(q2), bl_plain}}}), "qwen2");
  EXPECT_EQ(detect_pre({{"type", "Sequence"},
                        {"pretokenizers", {{{"type", "Digits"}, {"individual_digits", true}}, bl_regex}}}),
            "smollm");
  EXPECT_EQ(detect_pre(bl_regex), "gpt-2");
  EXPECT_EQ(detect_pre({{"type", "Sequence"}, {"pretokenizers", {split("\\d+"), bl_plain}}}), "");
  EXPECT_EQ(detect_pre({{"type", "Metaspace"}}), "");
}

json tiny_byte_level_tokenizer() {
  return json::parse(R"({
    "added_tokens": [{"id": 3, "content": "<|endoftext|>", "special": true, "normalized": false},
                     {"id": 4, "content": "<tool>", "special": false, "normalized": true},
                     {"id": 6, "content": "<|im_end|>", "special": true, "normalized": false}],
    "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false, "use_regex": true},
    "model": {"type": "BPE", "byte_fallback": false, "vocab": {"a": 0, "b": 1, "ab": 2},
              "merges": [["a", "b"], ["a b", "c"]]}})");
}

TEST(VocabFromHf, ByteLevelTypesMergesAndSpecialIds) {
  HfVocabInput in;
  in.tokenizer = tiny_byte_level_tokenizer();
  in.tokenizer_config = {{"bos_token", "<|endoftext|>"}, {"add_bos_token", false}, {"chat_template", "{{ x }}"}};
  in.config = {{"vocab_size", 8}, {"bos_token_id", 0}, {"eos_token_id", 6}};
  const auto kv = vocab_from_hf(in);
  EXPECT_TRUE(*find_kv(kv, "tokenizer.ggml.model") == gguf::Value{std::string("gpt2")});
  EXPECT_TRUE(*find_kv(kv, "tokenizer.ggml.pre") == gguf::Value{std::string("gpt-2")});
  const auto& tokens = std::get<gguf::Array>(find_kv(kv, "tokenizer.ggml.tokens")->data).items;
  ASSERT_EQ(tokens.size(), 8u);
  EXPECT_EQ(std::get<std::string>(tokens[5].data), "[PAD5]");
  std::vector<int32_t> types;
  for (const auto& v : std::get<gguf::Array>(find_kv(kv, "tokenizer.ggml.token_type")->data).items)
    types.push_back(std::get<int32_t>(v.data));
  EXPECT_EQ(types, (std::vector<int32_t>{1, 1, 1, 3, 4, 5, 3, 5}));
  const auto& merges = std::get<gguf::Array>(find_kv(kv, "tokenizer.ggml.merges")->data).items;
  ASSERT_EQ(merges.size(), 2u);
  EXPECT_EQ(std::get<std::string>(merges[1].data), "a\xC4\xA0" "b c");  // a space inside a part is U+0120
  EXPECT_TRUE(*find_kv(kv, "tokenizer.ggml.bos_token_id") == gguf::Value{uint32_t(3)});  // tokenizer_config wins
  EXPECT_TRUE(*find_kv(kv, "tokenizer.ggml.eos_token_id") == gguf::Value{uint32_t(6)});
  EXPECT_TRUE(*find_kv(kv, "tokenizer.ggml.eot_token_id") == gguf::Value{uint32_t(6)});
  EXPECT_TRUE(*find_kv(kv, "tokenizer.ggml.add_bos_token") == gguf::Value{false});
  EXPECT_TRUE(*find_kv(kv, "tokenizer.chat_template") == gguf::Value{std::string("{{ x }}")});
  EXPECT_EQ(find_kv(kv, "tokenizer.ggml.scores"), nullptr);
}

TEST(VocabFromHf, SentencePieceStyleBpeBecomesALlamaVocabulary) {
  HfVocabInput in;
  in.tokenizer = json::parse(R"({
    "added_tokens": [{"id": 0, "content": "<unk>", "special": true}, {"id": 1, "content": "<s>", "special": true},
                     {"id": 2, "content": "</s>", "special": true}],
    "pre_tokenizer": null,
    "model": {"type": "BPE", "byte_fallback": true, "unk_token": "<unk>",
              "vocab": {"<unk>": 0, "<s>": 1, "</s>": 2, "<0x00>": 3, "\u2581": 4, "a": 5, "\u2581a": 6},
              "merges": ["\u2581 a"]}})");
  in.tokenizer_config = {{"bos_token", "<s>"}, {"eos_token", "</s>"}, {"unk_token", "<unk>"}, {"add_bos_token", true}};
  const auto kv = vocab_from_hf(in);
  EXPECT_TRUE(*find_kv(kv, "tokenizer.ggml.model") == gguf::Value{std::string("llama")});
  EXPECT_TRUE(*find_kv(kv, "tokenizer.ggml.pre") == gguf::Value{std::string("default")});
  std::vector<int32_t> types;
  for (const auto& v : std::get<gguf::Array>(find_kv(kv, "tokenizer.ggml.token_type")->data).items)
    types.push_back(std::get<int32_t>(v.data));
  EXPECT_EQ(types, (std::vector<int32_t>{2, 3, 3, 6, 1, 1, 1}));
  const auto& scores = std::get<gguf::Array>(find_kv(kv, "tokenizer.ggml.scores")->data).items;
  EXPECT_EQ(std::get<float>(scores[6].data), -1.0f);  // made by merge 0
  EXPECT_EQ(std::get<float>(scores[5].data), 0.0f);
  EXPECT_EQ(find_kv(kv, "tokenizer.ggml.merges"), nullptr);
  EXPECT_TRUE(*find_kv(kv, "tokenizer.ggml.unknown_token_id") == gguf::Value{uint32_t(0)});
  EXPECT_TRUE(*find_kv(kv, "tokenizer.ggml.add_bos_token") == gguf::Value{true});
}

TEST(VocabFromHf, UnsupportedInputsAreErrors) {
  HfVocabInput in;
  in.tokenizer = tiny_byte_level_tokenizer();
  in.tokenizer["pre_tokenizer"] = {{"type", "Whitespace"}};
  try {
    vocab_from_hf(in);
    ADD_FAILURE() << "unknown pre-tokenizer accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("matches no known GGUF pre-tokenizer"), std::string::npos) << e.what();
  }
  in.pre = "gpt-2";  // naming it explicitly works
  EXPECT_NO_THROW(vocab_from_hf(in));
  in.tokenizer["model"]["type"] = "Unigram";
  EXPECT_THROW(vocab_from_hf(in), Error);
  in.tokenizer = json::array();
  EXPECT_THROW(vocab_from_hf(in), Error);
}

TEST(SideFile, ValuesKeepTheirExactTypes) {
  gguf::Array nested{gguf::ValueType::array, {gguf::Value{gguf::Array{gguf::ValueType::i16, {gguf::Value{int16_t(-3)}}}}}};
  const std::vector<gguf::Value> vals = {
      gguf::Value{uint8_t(7)},  gguf::Value{int8_t(-7)},       gguf::Value{uint16_t(65535)},
      gguf::Value{int16_t(-2)}, gguf::Value{uint32_t(4000000000u)}, gguf::Value{int32_t(-5)},
      gguf::Value{0.1f},        gguf::Value{true},             gguf::Value{std::string("caf\xC3\xA9")},
      gguf::Value{std::string("\xFF\xFE bad utf-8")},           gguf::Value{uint64_t(1) << 63},
      gguf::Value{int64_t(-1)}, gguf::Value{1e-300},           gguf::Value{std::numeric_limits<float>::infinity()},
      gguf::Value{nested},
      gguf::Value{gguf::Array{gguf::ValueType::f32, {gguf::Value{1.5f}, gguf::Value{-0.0f}}}}};
  for (const gguf::Value& v : vals) {
    const json j = json::parse(value_to_json(v).dump());  // through text, as the file goes
    EXPECT_TRUE(value_from_json(j, "test") == v) << value_to_json(v).dump();
  }
  EXPECT_TRUE(std::isnan(std::get<float>(value_from_json(value_to_json(gguf::Value{NAN}), "t").data)));
  EXPECT_THROW(value_from_json(json{{"type", "u8"}, {"value", 300}}, "t"), Error);
  EXPECT_THROW(value_from_json(json{{"type", "u99"}, {"value", 1}}, "t"), Error);
  EXPECT_THROW(side_from_json(json{{"format", "other"}}, "t"), Error);
}

TEST(TensorNames, MapBothWaysForEveryFamily) {
  struct Case {
    const char* hf_class;
    const char* hf;
    const char* gguf;
  };
  const Case cases[] = {
      {"LlamaForCausalLM", "model.embed_tokens.weight", "token_embd.weight"},
      {"LlamaForCausalLM", "lm_head.weight", "output.weight"},
      {"MistralForCausalLM", "model.layers.12.self_attn.k_proj.weight", "blk.12.attn_k.weight"},
      {"Qwen2ForCausalLM", "model.layers.0.self_attn.q_proj.bias", "blk.0.attn_q.bias"},
      {"Qwen2ForCausalLM", "model.layers.1.post_attention_layernorm.weight", "blk.1.ffn_norm.weight"},
      {"Qwen3ForCausalLM", "model.layers.0.self_attn.k_norm.weight", "blk.0.attn_k_norm.weight"},
      {"Phi3ForCausalLM", "model.layers.3.self_attn.qkv_proj.weight", "blk.3.attn_qkv.weight"},
      {"Phi3ForCausalLM", "model.layers.3.mlp.gate_up_proj.weight", "blk.3.ffn_up.weight"},
      {"Gemma2ForCausalLM", "model.layers.2.post_attention_layernorm.weight", "blk.2.post_attention_norm.weight"},
      {"Gemma2ForCausalLM", "model.layers.2.pre_feedforward_layernorm.weight", "blk.2.ffn_norm.weight"},
      {"Gemma2ForCausalLM", "model.layers.2.post_feedforward_layernorm.weight", "blk.2.post_ffw_norm.weight"},
      {"Gemma2ForCausalLM", "model.norm.weight", "output_norm.weight"},
  };
  for (const Case& c : cases) {
    const Family* f = family_for_hf_class(c.hf_class);
    ASSERT_NE(f, nullptr) << c.hf_class;
    EXPECT_EQ(gguf_tensor_name(*f, c.hf), std::optional<std::string>(c.gguf)) << c.hf;
    if (std::string(c.hf_class) == "MistralForCausalLM") continue;  // GGUF "llama" exports as LlamaForCausalLM
    EXPECT_EQ(hf_tensor_name(*family_for_gguf_arch(f->gguf_arch), c.gguf), std::optional<std::string>(c.hf)) << c.gguf;
  }
  EXPECT_EQ(gguf_tensor_name(*family_for_hf_class("LlamaForCausalLM"), "model.layers.x.mlp.up_proj.weight"), std::nullopt);
  EXPECT_EQ(gguf_tensor_name(*family_for_hf_class("LlamaForCausalLM"), "vision_tower.weight"), std::nullopt);
  EXPECT_EQ(family_for_hf_class("GPT2LMHeadModel"), nullptr);
  EXPECT_TRUE(family_for_hf_class("MistralForCausalLM")->permute_qk);
  EXPECT_TRUE(family_for_hf_class("Gemma2ForCausalLM")->norm_plus_one);
}

TEST(GeneratedTensors, Phi3LongRopeFactorsAndAttentionFactor) {
  json c = {{"hidden_size", 32}, {"num_attention_heads", 2}, {"num_hidden_layers", 1}, {"intermediate_size", 64},
            {"max_position_embeddings", 131072}, {"original_max_position_embeddings", 4096}};
  c["rope_scaling"] = {{"type", "longrope"}, {"long_factor", std::vector<double>(8, 2.5)},
                       {"short_factor", std::vector<double>(8, 1.0)}};
  const Family& phi3 = *family_for_hf_class("Phi3ForCausalLM");
  const auto gen = generated_tensors(phi3, c);
  ASSERT_EQ(gen.size(), 2u);
  EXPECT_EQ(gen[0].first, "rope_factors_long.weight");
  EXPECT_EQ(gen[0].second, std::vector<float>(8, 2.5f));
  EXPECT_EQ(gen[1].first, "rope_factors_short.weight");
  const auto kv = hparams_to_gguf(phi3, c);
  const gguf::Value* a = find_kv(kv, "phi3.rope.scaling.attn_factor");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(std::get<float>(a->data), float(std::sqrt(1 + std::log(32.0) / std::log(4096.0))));
  EXPECT_TRUE(*find_kv(kv, "phi3.rope.scaling.original_context_length") == gguf::Value{uint32_t(4096)});
  c["rope_scaling"]["long_factor"] = std::vector<double>(7, 1.0);
  EXPECT_THROW(generated_tensors(phi3, c), Error);
  c["rope_scaling"]["type"] = "dynamic";
  EXPECT_THROW(hparams_to_gguf(phi3, c), Error);
  // Llama 3.1 scaling: factors 1 for short wavelengths, `factor` for long ones, smooth in between.
  json l = {{"hidden_size", 64}, {"num_attention_heads", 4}, {"rope_theta", 500000.0}};
  l["rope_scaling"] = {{"rope_type", "llama3"}, {"factor", 8.0}, {"low_freq_factor", 1.0}, {"high_freq_factor", 4.0},
                       {"original_max_position_embeddings", 8192}};
  const auto r = generated_tensors(*family_for_hf_class("LlamaForCausalLM"), l);
  ASSERT_EQ(r.size(), 1u);
  ASSERT_EQ(r[0].second.size(), 8u);
  EXPECT_EQ(r[0].second.front(), 1.0f);
  EXPECT_EQ(r[0].second.back(), 8.0f);
  EXPECT_TRUE(generated_tensors(*family_for_hf_class("Qwen2ForCausalLM"), l).empty());
}

// rope_scaling members of the wrong JSON type are errors naming the member (they were nlohmann type
// errors naming nothing, found by the convert_fuzz target).
TEST(GeneratedTensors, RopeScalingMembersOfTheWrongTypeAreNamed) {
  const json base = {{"hidden_size", 64}, {"num_attention_heads", 4}, {"num_hidden_layers", 1},
                     {"intermediate_size", 64}, {"max_position_embeddings", 131072},
                     {"original_max_position_embeddings", 4096}};
  const auto error_of = [](auto&& f) {
    try {
      f();
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  const Family& phi3 = *family_for_hf_class("Phi3ForCausalLM");
  const Family& llama = *family_for_hf_class("LlamaForCausalLM");
  json c = base;
  c["rope_scaling"] = {{"type", json::array({"longrope"})}};
  EXPECT_NE(error_of([&] { hparams_to_gguf(phi3, c); }).find("'rope_scaling.type' must be a string"), std::string::npos);
  c["rope_scaling"] = {{"rope_type", 3}};
  EXPECT_NE(error_of([&] { generated_tensors(llama, c); }).find("'rope_scaling.rope_type' must be a string"),
            std::string::npos);
  c["rope_scaling"] = {{"type", "linear"}, {"factor", "2"}};
  EXPECT_NE(error_of([&] { hparams_to_gguf(llama, c); }).find("'factor' must be a number"), std::string::npos);
  c["rope_scaling"] = {{"type", "linear"}, {"factor", 2.0}};
  const auto kv = hparams_to_gguf(llama, c);
  ASSERT_NE(find_kv(kv, "llama.rope.scaling.factor"), nullptr);
  EXPECT_EQ(std::get<float>(find_kv(kv, "llama.rope.scaling.factor")->data), 2.0f);
}

// A two-shard Llama checkpoint written by hand: hidden 32, 2 heads (head_dim 16), 1 kv head, 1 layer.
class TinyHfLlama : public ::testing::Test {
 protected:
  void SetUp() override {
    auto tensor = [&](const std::string& name, std::vector<int64_t> shape, float base) {
      int64_t n = 1;
      for (int64_t d : shape) n *= d;
      std::vector<uint16_t> h(static_cast<size_t>(n));
      for (int64_t i = 0; i < n; ++i) h[size_t(i)] = f32_to_f16(base + 0.001f * float(i % 1000)).bits;
      data_.push_back(std::move(h));
      names_.push_back(name);
      shapes_.push_back(std::move(shape));
    };
    tensor("model.embed_tokens.weight", {8, 32}, 0.f);
    tensor("model.layers.0.input_layernorm.weight", {32}, 1.f);
    tensor("model.layers.0.self_attn.q_proj.weight", {32, 32}, 2.f);
    tensor("model.layers.0.self_attn.k_proj.weight", {16, 32}, 3.f);
    tensor("model.layers.0.self_attn.v_proj.weight", {16, 32}, 4.f);
    tensor("model.layers.0.self_attn.o_proj.weight", {32, 32}, 5.f);
    tensor("model.layers.0.post_attention_layernorm.weight", {32}, 6.f);
    tensor("model.layers.0.mlp.gate_proj.weight", {64, 32}, 7.f);
    tensor("model.layers.0.mlp.up_proj.weight", {64, 32}, 8.f);
    tensor("model.layers.0.mlp.down_proj.weight", {32, 64}, 9.f);
    tensor("model.norm.weight", {32}, 10.f);
    tensor("model.layers.0.self_attn.rotary_emb.inv_freq", {8}, 0.f);  // dropped
    safetensors::Writer a, b;
    json weight_map;
    for (size_t i = 0; i < names_.size(); ++i) {
      auto& w = i < 4 ? a : b;
      w.add_tensor(names_[i], DType::F16, shapes_[i],
                   {reinterpret_cast<const uint8_t*>(data_[i].data()), data_[i].size() * 2});
      weight_map[names_[i]] = i < 4 ? "model-00001-of-00002.safetensors" : "model-00002-of-00002.safetensors";
    }
    a.write(tmp_.file("model-00001-of-00002.safetensors"));
    b.write(tmp_.file("model-00002-of-00002.safetensors"));
    std::ofstream(tmp_.file("model.safetensors.index.json")) << json{{"weight_map", weight_map}}.dump();
    std::ofstream(tmp_.file("config.json")) << json{{"architectures", {"LlamaForCausalLM"}}, {"hidden_size", 32},
                                                     {"intermediate_size", 64}, {"num_attention_heads", 2},
                                                     {"num_key_value_heads", 1}, {"num_hidden_layers", 1},
                                                     {"max_position_embeddings", 128}, {"rms_norm_eps", 1e-6},
                                                     {"rope_theta", 10000.0}, {"vocab_size", 8},
                                                     {"tie_word_embeddings", true}, {"eos_token_id", 3}}
                                                    .dump();
    json tok = tiny_byte_level_tokenizer();
    std::ofstream(tmp_.file("tokenizer.json")) << tok.dump();
  }
  std::span<const uint8_t> source(size_t i) const {
    return {reinterpret_cast<const uint8_t*>(data_[i].data()), data_[i].size() * 2};
  }
  TempDir tmp_;
  std::vector<std::vector<uint16_t>> data_;
  std::vector<std::string> names_;
  std::vector<std::vector<int64_t>> shapes_;
};

TEST_F(TinyHfLlama, ConvertsShardsWithPermutedQkAndF32Norms) {
  TempDir out;
  const ConvertSummary s = convert_hf(tmp_.path().string(), out.file("m.gguf"));
  EXPECT_EQ(s.n_tensors, 11u);
  EXPECT_FALSE(s.from_side_file);
  const gguf::File g = gguf::File::open(out.file("m.gguf"));
  EXPECT_EQ(g.get_string("general.architecture"), "llama");
  EXPECT_EQ(g.get_uint("llama.attention.head_count_kv"), 1u);
  EXPECT_EQ(g.get_uint("llama.rope.dimension_count"), 16u);
  EXPECT_EQ(g.get_uint("llama.vocab_size"), 8u);
  EXPECT_EQ(g.get_uint("general.file_type"), 1u);
  EXPECT_EQ(g.get_uint("tokenizer.ggml.eos_token_id"), 3u);
  const gguf::TensorInfo* q = g.find_tensor("blk.0.attn_q.weight");
  ASSERT_NE(q, nullptr);
  EXPECT_EQ(q->type, DType::F16);
  EXPECT_EQ(q->ne, (std::vector<int64_t>{32, 32}));
  const auto want_q = permute_qk(source(2), 32, 64, 2);
  EXPECT_TRUE(std::ranges::equal(g.tensor_data(*q), want_q));
  const auto want_k = permute_qk(source(3), 16, 64, 1);
  EXPECT_TRUE(std::ranges::equal(g.tensor_data(*g.find_tensor("blk.0.attn_k.weight")), want_k));
  EXPECT_TRUE(std::ranges::equal(g.tensor_data(*g.find_tensor("blk.0.attn_v.weight")), source(4)));
  const gguf::TensorInfo* norm = g.find_tensor("blk.0.attn_norm.weight");
  EXPECT_EQ(norm->type, DType::F32);
  float first;
  std::memcpy(&first, g.tensor_data(*norm).data(), 4);
  EXPECT_EQ(first, 1.0f);
  EXPECT_EQ(g.find_tensor("output.weight"), nullptr);  // tied
}

TEST_F(TinyHfLlama, Q8_0AndF32Outputs) {
  TempDir out;
  HfOptions opt;
  opt.type = DType::Q8_0;
  convert_hf(tmp_.path().string(), out.file("q.gguf"), opt);
  const gguf::File g = gguf::File::open(out.file("q.gguf"));
  EXPECT_EQ(g.find_tensor("blk.0.ffn_up.weight")->type, DType::Q8_0);
  EXPECT_EQ(g.find_tensor("token_embd.weight")->type, DType::Q8_0);
  EXPECT_EQ(g.find_tensor("output_norm.weight")->type, DType::F32);
  EXPECT_EQ(g.get_uint("general.file_type"), 7u);
  opt.type = DType::F32;
  convert_hf(tmp_.path().string(), out.file("f.gguf"), opt);
  const gguf::File f = gguf::File::open(out.file("f.gguf"));
  const gguf::TensorInfo* v = f.find_tensor("blk.0.attn_v.weight");
  EXPECT_EQ(v->type, DType::F32);
  float x;
  std::memcpy(&x, f.tensor_data(*v).data() + 4 * 5, 4);
  EXPECT_EQ(x, f16_to_f32(f16{data_[4][5]}));
}

TEST_F(TinyHfLlama, BadFoldersAreClearErrors) {
  TempDir out;
  auto expect_error = [&](const std::string& needle) {
    try {
      convert_hf(tmp_.path().string(), out.file("x.gguf"));
      ADD_FAILURE() << "no error; expected '" << needle << "'";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  json cfg = read_json_file(tmp_.file("config.json"), true);
  cfg["architectures"] = {"GPTNeoXForCausalLM"};
  std::ofstream(tmp_.file("config.json")) << cfg.dump();
  expect_error("architecture 'GPTNeoXForCausalLM' is not supported");
  cfg["architectures"] = {"LlamaForCausalLM"};
  cfg.erase("num_attention_heads");
  std::ofstream(tmp_.file("config.json")) << cfg.dump();
  expect_error("'num_attention_heads' must be a non-negative integer");
  std::ofstream(tmp_.file("config.json")) << "{not json";
  expect_error("not valid JSON");
  EXPECT_THROW(convert_hf(tmp_.file("absent"), out.file("x.gguf")), Error);
}

}  // namespace
}  // namespace slm::convert
