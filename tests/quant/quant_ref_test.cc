// Against llama.cpp's files in testdata/quant: bit-exact dequantisation of every tensor of every type,
// byte-identical blocks for the legacy types (and F16/BF16), and for the k-quants and IQ4 types an error
// (RMSE vs the source floats) no worse than the reference file's on every tensor.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/testdata.h"
#include "core/f16.h"
#include "quant/quant.h"

namespace slm::quant {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::vector<char> read_bytes(const fs::path& file, int64_t offset, int64_t n) {
  std::ifstream in(file, std::ios::binary);
  EXPECT_TRUE(in) << file;
  std::vector<char> buf(size_t(n), 0);
  in.seekg(offset);
  in.read(buf.data(), n);
  EXPECT_EQ(in.gcount(), n) << file << " @" << offset;
  return buf;
}

std::vector<float> read_floats(const fs::path& file, int64_t offset_elements, int64_t n) {
  const std::vector<char> b = read_bytes(file, offset_elements * 4, n * 4);
  std::vector<float> f(b.size() / 4);
  std::memcpy(f.data(), b.data(), b.size());
  return f;
}

json manifest(const fs::path& dir) {
  std::ifstream in(dir / "manifest.json");
  return json::parse(in);
}

// The source floats of one tensor, by name.
std::vector<float> source_tensor(const fs::path& dir, const json& m, const std::string& name) {
  for (const json& t : m["source"]["tensors_file_order"])
    if (t["name"] == name)
      return read_floats(dir / "source.f32", t["f32_offset_elements"].get<int64_t>(), t["n_elements"].get<int64_t>());
  ADD_FAILURE() << "no source tensor " << name;
  return {};
}

double rmse(const std::vector<float>& a, const std::vector<float>& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += (double(a[i]) - b[i]) * (double(a[i]) - b[i]);
  return std::sqrt(s / double(a.size()));
}

struct TensorRef {
  std::string name;
  DType type;
  int64_t row, rows;
  std::vector<char> blocks;   // as stored in the .gguf
  std::vector<float> dequant;  // llama.cpp's decode
  double manifest_rmse;        // the manifest's RMSE of that decode vs the source
};

std::vector<TensorRef> type_tensors(const fs::path& dir, const json& entry) {
  std::vector<TensorRef> out;
  for (const json& t : entry["tensors"]) {
    const std::vector<int64_t> ne = t["shape_ne"].get<std::vector<int64_t>>();
    TensorRef r{.name = t["name"].get<std::string>(),
                .type = DType(t["ggml_type"].get<uint32_t>()),
                .row = ne[0],
                .rows = ne.size() > 1 ? ne[1] : 1,
                .blocks = {},
                .dequant = {},
                .manifest_rmse = t["rmse_vs_source"].get<double>()};
    r.blocks = read_bytes(dir / entry["file"].get<std::string>(), t["gguf_file_offset"].get<int64_t>(),
                          t["n_bytes"].get<int64_t>());
    r.dequant = read_floats(dir / entry["dequant_file"].get<std::string>(),
                            t["f32_offset_elements"].get<int64_t>(), t["n_elements"].get<int64_t>());
    out.push_back(std::move(r));
  }
  return out;
}

TEST(QuantRef, DequantisesEveryTensorBitExactly) {
  SLM_REQUIRE_TESTDATA(dir, "quant");
  const json m = manifest(dir);
  int checked = 0;
  for (const auto& [file_type, entry] : m["types"].items()) {
    for (const TensorRef& t : type_tensors(dir, entry)) {
      ASSERT_TRUE(can_dequantize(t.type)) << file_type << " " << t.name;
      ASSERT_EQ(t.blocks.size(), row_bytes(t.type, t.row) * size_t(t.rows)) << file_type << " " << t.name;
      std::vector<float> got(t.dequant.size());
      dequantize(t.type, t.blocks.data(), got.data(), int64_t(got.size()));
      int64_t bad = 0, first = -1;
      for (size_t i = 0; i < got.size(); ++i) {
        if (f32_bits(got[i]) != f32_bits(t.dequant[i])) {
          if (first < 0) first = int64_t(i);
          ++bad;
        }
      }
      EXPECT_EQ(bad, 0) << file_type << " " << t.name << ": first mismatch at " << first << " ("
                        << (first >= 0 ? got[size_t(first)] : 0) << " vs "
                        << (first >= 0 ? t.dequant[size_t(first)] : 0) << ")";
      ++checked;
    }
  }
  EXPECT_EQ(checked, 14 * 5);
}

// Without an imatrix the legacy quantisers and the float conversions must reproduce the files' bytes.
TEST(QuantRef, LegacyTypesGiveTheSameBlocks) {
  SLM_REQUIRE_TESTDATA(dir, "quant");
  const json m = manifest(dir);
  std::printf("%-7s %-26s %8s %8s\n", "type", "tensor", "blocks", "equal");
  for (const char* name : {"Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "F16", "BF16"}) {
    for (const TensorRef& t : type_tensors(dir, m["types"][name])) {
      if (t.type == DType::F32) continue;
      const std::vector<float> src = source_tensor(dir, m, t.name);
      std::vector<char> got(t.blocks.size());
      quantize(t.type, src.data(), got.data(), t.rows, t.row);
      const size_t bb = dtype_info(t.type).block_bytes;
      int64_t equal = 0;
      for (size_t b = 0; b < got.size() / bb; ++b)
        equal += std::memcmp(got.data() + b * bb, t.blocks.data() + b * bb, bb) == 0;
      const int64_t total = int64_t(got.size() / bb);
      std::printf("%-7s %-26s %8lld %8lld\n", name, t.name.c_str(), (long long)total, (long long)equal);
      EXPECT_EQ(equal, total) << name << " " << t.name;
    }
  }
}

// The k-quants and IQ4 types: our blocks' RMSE against the source must not exceed the reference file's.
TEST(QuantRef, SearchedTypesAreNoWorseThanTheReference) {
  SLM_REQUIRE_TESTDATA(dir, "quant");
  const json m = manifest(dir);
  std::printf("%-7s %-26s %14s %14s %8s\n", "type", "tensor", "ours", "reference", "ratio");
  for (const char* name : {"Q2_K", "Q3_K_S", "Q4_K_S", "Q5_K_S", "Q6_K", "IQ4_NL", "IQ4_XS"}) {
    for (const TensorRef& t : type_tensors(dir, m["types"][name])) {
      if (t.type == DType::F32) continue;
      const std::vector<float> src = source_tensor(dir, m, t.name);
      std::vector<char> blocks(t.blocks.size());
      quantize(t.type, src.data(), blocks.data(), t.rows, t.row);
      std::vector<float> ours(src.size());
      dequantize(t.type, blocks.data(), ours.data(), int64_t(ours.size()));
      const double e_ours = rmse(ours, src), e_ref = rmse(t.dequant, src);
      EXPECT_NEAR(e_ref, t.manifest_rmse, 1e-9 + 1e-6 * t.manifest_rmse) << "reading " << name << " " << t.name;
      std::printf("%-7s %-26s %14.8g %14.8g %8.4f\n", std::string(type_name(t.type)).c_str(), t.name.c_str(),
                  e_ours, e_ref, e_ours / e_ref);
      EXPECT_LE(e_ours, e_ref) << name << " " << t.name;
    }
  }
}

}  // namespace
}  // namespace slm::quant
