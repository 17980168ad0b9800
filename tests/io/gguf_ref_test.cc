// Every real GGUF under shared/testdata: parses, round-trips byte for byte through Writer::from,
// and inspects (text and JSON) without error.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <iostream>

#include "common/testdata.h"
#include "io/gguf.h"
#include "io/gguf_inspect.h"

namespace slm::gguf {
namespace {

std::vector<std::filesystem::path> all_gguf_files(const std::filesystem::path& root) {
  std::vector<std::filesystem::path> out;
  for (const auto& e : std::filesystem::recursive_directory_iterator(root))
    if (e.is_regular_file() && e.path().extension() == ".gguf") out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

TEST(GgufReference, EveryTestdataFileRoundTripsByteForByte) {
  SLM_REQUIRE_TESTDATA(root, ".");
  const auto files = all_gguf_files(root);
  ASSERT_FALSE(files.empty()) << "no .gguf under " << root;
  size_t exact = 0;
  for (const auto& path : files) {
    SCOPED_TRACE(path.string());
    const File f = File::open(path.string());
    const std::vector<uint8_t> out = Writer::from(f).to_bytes();
    const auto in = f.bytes();
    ASSERT_EQ(out.size(), in.size());
    const auto mismatch = std::mismatch(out.begin(), out.end(), in.begin());
    EXPECT_EQ(mismatch.first, out.end()) << "first difference at offset " << (mismatch.first - out.begin());
    exact += mismatch.first == out.end();
  }
  std::cout << "round-tripped " << exact << " of " << files.size() << " files byte for byte\n";
  EXPECT_EQ(exact, files.size());
}

TEST(GgufReference, EveryTestdataFileInspects) {
  SLM_REQUIRE_TESTDATA(root, ".");
  for (const auto& path : all_gguf_files(root)) {
    SCOPED_TRACE(path.string());
    const File f = File::open(path.string());
    const std::string text = inspect_text(f);
    EXPECT_NE(text.find("parameters:"), std::string::npos);
    const nlohmann::json j = inspect_json(f);
    const auto again = nlohmann::json::parse(j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    EXPECT_EQ(again["metadata"].size(), f.metadata().size());
    EXPECT_EQ(again["tensors"].size(), f.tensors().size());
    uint64_t params = 0, bytes = 0;
    for (const TensorInfo& t : f.tensors()) {
      params += uint64_t(t.n_elements());
      bytes += t.n_bytes;
      EXPECT_EQ(f.tensor_data(t).size(), t.n_bytes) << t.name;
    }
    EXPECT_EQ(again["n_parameters"].get<uint64_t>(), params);
    uint64_t by_type = 0;
    for (const auto& [name, v] : again["bytes_by_type"].items()) by_type += v["bytes"].get<uint64_t>();
    EXPECT_EQ(by_type, bytes);
  }
}

TEST(GgufReference, Stories260KFacts) {
  SLM_REQUIRE_TESTDATA(path, "models/stories260K/stories260K.gguf");
  const File f = File::open(path.string());
  EXPECT_EQ(f.version(), 3u);
  EXPECT_EQ(f.get_string("general.architecture"), "llama");
  EXPECT_EQ(f.tensors().size(), 48u);
  const Array* tokens = f.get_array("tokenizer.ggml.tokens");
  ASSERT_NE(tokens, nullptr);
  EXPECT_EQ(tokens->items.size(), 512u);
  EXPECT_EQ(std::get<std::string>(tokens->items[1].data), "<s>");
  for (const TensorInfo& t : f.tensors()) EXPECT_EQ(t.type, DType::F32) << t.name;
}

TEST(GgufReference, QuantFilesHoldTheirType) {
  SLM_REQUIRE_TESTDATA(dir, "quant");
  const std::pair<const char*, DType> cases[] = {{"Q4_0.gguf", DType::Q4_0}, {"Q4_K_S.gguf", DType::Q4_K},
                                                 {"Q6_K.gguf", DType::Q6_K}, {"IQ4_XS.gguf", DType::IQ4_XS},
                                                 {"BF16.gguf", DType::BF16}};
  for (auto [name, type] : cases) {
    const File f = File::open((dir / name).string());
    EXPECT_TRUE(std::any_of(f.tensors().begin(), f.tensors().end(), [&](const TensorInfo& t) { return t.type == type; }))
        << name;
  }
}

}  // namespace
}  // namespace slm::gguf
