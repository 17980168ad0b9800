// The GGUF type table: block sizes and byte sizes of every type id GGUF defines.
#include "core/dtype.h"

#include <array>
#include <cctype>

#include "core/error.h"

namespace slm {
namespace {

constexpr int64_t QK = 32;    // legacy block
constexpr int64_t QKK = 256;  // k-quant super-block

constexpr std::array kTable = {
    DTypeInfo{DType::F32, "F32", 1, 4},
    DTypeInfo{DType::F16, "F16", 1, 2},
    DTypeInfo{DType::Q4_0, "Q4_0", QK, 2 + QK / 2},
    DTypeInfo{DType::Q4_1, "Q4_1", QK, 4 + QK / 2},
    DTypeInfo{DType::Q5_0, "Q5_0", QK, 2 + 4 + QK / 2},
    DTypeInfo{DType::Q5_1, "Q5_1", QK, 4 + 4 + QK / 2},
    DTypeInfo{DType::Q8_0, "Q8_0", QK, 2 + QK},
    DTypeInfo{DType::Q8_1, "Q8_1", QK, 4 + QK},
    DTypeInfo{DType::Q2_K, "Q2_K", QKK, QKK / 16 + QKK / 4 + 4},
    DTypeInfo{DType::Q3_K, "Q3_K", QKK, QKK / 8 + QKK / 4 + 12 + 2},
    DTypeInfo{DType::Q4_K, "Q4_K", QKK, 4 + 12 + QKK / 2},
    DTypeInfo{DType::Q5_K, "Q5_K", QKK, 4 + 12 + QKK / 8 + QKK / 2},
    DTypeInfo{DType::Q6_K, "Q6_K", QKK, QKK / 2 + QKK / 4 + QKK / 16 + 2},
    DTypeInfo{DType::Q8_K, "Q8_K", QKK, 4 + QKK + QKK / 16 * 2},
    DTypeInfo{DType::IQ2_XXS, "IQ2_XXS", QKK, 2 + QKK / 8 * 2},
    DTypeInfo{DType::IQ2_XS, "IQ2_XS", QKK, 2 + QKK / 8 * 2 + QKK / 32},
    DTypeInfo{DType::IQ3_XXS, "IQ3_XXS", QKK, 2 + QKK / 4 + QKK / 8},
    DTypeInfo{DType::IQ1_S, "IQ1_S", QKK, 2 + QKK / 8 + QKK / 16},
    DTypeInfo{DType::IQ4_NL, "IQ4_NL", QK, 2 + QK / 2},
    DTypeInfo{DType::IQ3_S, "IQ3_S", QKK, 2 + QKK / 4 + QKK / 8 + QKK / 32 + QKK / 64},
    DTypeInfo{DType::IQ2_S, "IQ2_S", QKK, 2 + QKK / 4 + QKK / 16},
    DTypeInfo{DType::IQ4_XS, "IQ4_XS", QKK, 2 + 2 + QKK / 64 + QKK / 2},
    DTypeInfo{DType::I8, "I8", 1, 1},
    DTypeInfo{DType::I16, "I16", 1, 2},
    DTypeInfo{DType::I32, "I32", 1, 4},
    DTypeInfo{DType::I64, "I64", 1, 8},
    DTypeInfo{DType::F64, "F64", 1, 8},
    DTypeInfo{DType::IQ1_M, "IQ1_M", QKK, QKK / 8 + QKK / 16 + QKK / 32},
    DTypeInfo{DType::BF16, "BF16", 1, 2},
    DTypeInfo{DType::TQ1_0, "TQ1_0", QKK, 2 + (QKK - 4 * QKK / 64) / 5 + QKK / 64},
    DTypeInfo{DType::TQ2_0, "TQ2_0", QKK, 2 + QKK / 4},
};

}  // namespace

std::optional<DTypeInfo> dtype_info(uint32_t id) {
  for (const DTypeInfo& d : kTable)
    if (uint32_t(d.type) == id) return d;
  return std::nullopt;
}

const DTypeInfo& dtype_info(DType t) {
  for (const DTypeInfo& d : kTable)
    if (d.type == t) return d;
  SLM_CHECK(false, "undefined dtype id {}", uint32_t(t));
}

std::optional<DType> dtype_from_name(std::string_view name) {
  for (const DTypeInfo& d : kTable) {
    if (d.name.size() != name.size()) continue;
    bool eq = true;
    for (size_t i = 0; i < name.size() && eq; ++i)
      eq = std::toupper(static_cast<unsigned char>(name[i])) == static_cast<unsigned char>(d.name[i]);
    if (eq) return d.type;
  }
  return std::nullopt;
}

}  // namespace slm
