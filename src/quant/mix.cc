// Per-tensor type choice of llama.cpp's file types. The rules restate llama.cpp's published mix table
// (llama-quant.cpp, llama_tensor_get_type) for the file types slm writes.
#include "quant/mix.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <numeric>

namespace slm::quant {
namespace {

constexpr std::array kFileTypes = {
    FileType{"F32", 0, DType::F32},        FileType{"F16", 1, DType::F16},
    FileType{"Q4_0", 2, DType::Q4_0},      FileType{"Q4_1", 3, DType::Q4_1},
    FileType{"Q8_0", 7, DType::Q8_0},      FileType{"Q5_0", 8, DType::Q5_0},
    FileType{"Q5_1", 9, DType::Q5_1},      FileType{"Q2_K", 10, DType::Q2_K},
    FileType{"Q3_K_S", 11, DType::Q3_K},   FileType{"Q3_K_M", 12, DType::Q3_K},
    FileType{"Q3_K_L", 13, DType::Q3_K},   FileType{"Q4_K_S", 14, DType::Q4_K},
    FileType{"Q4_K_M", 15, DType::Q4_K},   FileType{"Q5_K_S", 16, DType::Q5_K},
    FileType{"Q5_K_M", 17, DType::Q5_K},   FileType{"Q6_K", 18, DType::Q6_K},
    FileType{"IQ4_NL", 25, DType::IQ4_NL}, FileType{"IQ4_XS", 30, DType::IQ4_XS},
    FileType{"BF16", 32, DType::BF16},
};

bool iequal(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

bool has(std::string_view s, std::string_view part) { return s.find(part) != std::string_view::npos; }
bool ends_with(std::string_view s, std::string_view tail) {
  return s.size() >= tail.size() && s.substr(s.size() - tail.size()) == tail;
}

bool is_quantized(DType t) { return dtype_info(t).block_size > 1; }

// llama.cpp's layer schedule for "more bits": the first and last eighth, and every third layer between.
bool use_more_bits(int i_layer, int n_layer) {
  return i_layer < n_layer / 8 || i_layer >= 7 * n_layer / 8 || (i_layer - n_layer / 8) % 3 == 2;
}

// Mutable counters of one pass over the tensors (in name order), as llama-quantize keeps them.
struct MixState {
  const FileType& ft;
  const MixModel& m;
  bool has_output = false;
  int n_attention_wv = 0, i_attention_wv = 0;
  int n_ffn_down = 0, i_ffn_down = 0;
};

std::string_view ftn(const MixState& s) { return s.ft.name; }

DType attn_v_type(MixState& s, DType t) {
  const std::string_view f = ftn(s);
  const int n_gqa = s.m.n_head_kv > 0 ? s.m.n_head / s.m.n_head_kv : 1;
  if (f == "Q2_K") {
    t = n_gqa >= 4 ? DType::Q4_K : DType::Q3_K;
  } else if (f == "Q3_K_M") {
    t = s.i_attention_wv < 2 ? DType::Q5_K : DType::Q4_K;
  } else if (f == "Q3_K_L") {
    t = DType::Q5_K;
  } else if ((f == "IQ4_NL" || f == "IQ4_XS") && n_gqa >= 4) {
    t = DType::Q5_K;
  } else if ((f == "Q4_K_M" || f == "Q5_K_M") && use_more_bits(s.i_attention_wv, s.n_attention_wv)) {
    t = DType::Q6_K;
  } else if (f == "Q4_K_S" && s.i_attention_wv < 4) {
    t = DType::Q5_K;
  }
  if (s.m.n_expert == 8) t = DType::Q8_0;
  ++s.i_attention_wv;
  return t;
}

DType ffn_down_type(MixState& s, DType t) {
  const std::string_view f = ftn(s);
  const int i = s.i_ffn_down, n = s.n_ffn_down;
  const bool falcon = s.m.arch == "falcon";
  if (f == "Q2_K") {
    t = DType::Q3_K;
  } else if (f == "Q3_K_M") {
    t = i < n / 16 ? DType::Q5_K : (!falcon || use_more_bits(i, n)) ? DType::Q4_K : DType::Q3_K;
  } else if (f == "Q3_K_L") {
    t = falcon ? DType::Q4_K : DType::Q5_K;
  } else if (f == "Q4_K_M") {
    if (falcon) {
      t = i < n / 16 ? DType::Q6_K : use_more_bits(i, n) ? DType::Q5_K : DType::Q4_K;
    } else if (use_more_bits(i, n)) {
      t = DType::Q6_K;
    }
  } else if (i < n / 8 && (f == "IQ4_NL" || f == "IQ4_XS") && !s.m.has_imatrix) {
    t = DType::Q5_K;
  } else if (f == "Q5_K_M" && use_more_bits(i, n)) {
    t = DType::Q6_K;
  } else if (f == "Q4_K_S" && !falcon && i < n / 8) {
    t = DType::Q5_K;
  } else if ((f == "Q4_0" || f == "Q5_0") && s.m.has_imatrix && i < n / 8) {
    t = f == "Q4_0" ? DType::Q4_1 : DType::Q5_1;
  }
  ++s.i_ffn_down;
  return t;
}

DType attn_output_type(const MixState& s, DType t) {
  const std::string_view f = ftn(s);
  if (s.m.arch == "falcon") return f == "Q3_K_L" ? DType::Q4_K : t;
  if (s.m.n_expert == 8) {
    for (std::string_view x : {"Q2_K", "Q3_K_S", "Q3_K_M", "IQ4_NL", "Q4_K_S", "Q4_K_M", "IQ4_XS"})
      if (f == x) return DType::Q5_K;
    return t;
  }
  if (f == "Q2_K") return DType::Q3_K;
  if (f == "Q3_K_M") return DType::Q4_K;
  if (f == "Q3_K_L") return DType::Q5_K;
  return t;
}

DType mixed_type(MixState& s, const MixTensor& x) {
  const std::string_view name = x.name, f = ftn(s);
  DType t = s.ft.base;
  if (name == "output.weight" || (!s.has_output && name == "token_embd.weight")) {
    if (s.m.arch == "falcon" || x.ne[0] % dtype_info(t).block_size != 0) return DType::Q8_0;
    return t != DType::Q8_0 ? DType::Q6_K : t;
  }
  if (name == "token_embd.weight") return t;
  if (has(name, "attn_v.weight")) return attn_v_type(s, t);
  if (has(name, "attn_k.weight")) return s.m.n_expert == 8 ? DType::Q8_0 : t;
  if (has(name, "ffn_down")) return ffn_down_type(s, t);
  if (has(name, "attn_output.weight")) return attn_output_type(s, t);
  if (has(name, "attn_qkv.weight")) {
    if (f == "Q3_K_M" || f == "Q3_K_L") return DType::Q4_K;
    if (f == "Q4_K_M") return DType::Q5_K;
    if (f == "Q5_K_M") return DType::Q6_K;
  }
  return t;
}

}  // namespace

std::optional<FileType> file_type_from_name(std::string_view name) {
  for (const FileType& f : kFileTypes)
    if (iequal(f.name, name)) return f;
  return std::nullopt;
}

std::span<const FileType> file_types() { return kFileTypes; }

bool should_quantize(const MixTensor& t) {
  const std::string_view n = t.name;
  if (!ends_with(n, "weight") || t.ne.size() < 2) return false;
  for (std::string_view skip : {"_norm.weight", "ffn_gate_inp.weight", "ssm_conv1d.weight", "attn_rel_b.weight"})
    if (has(n, skip)) return false;
  return n != "position_embd.weight" && n != "token_types.weight";
}

DType fallback_type(DType t, int64_t row_len) {
  if (row_len % dtype_info(t).block_size == 0) return t;
  DType f = DType::F16;
  switch (t) {
    case DType::Q2_K: case DType::Q3_K: case DType::IQ4_XS: f = DType::IQ4_NL; break;
    case DType::Q4_K: f = DType::Q5_0; break;
    case DType::Q5_K: f = DType::Q5_1; break;
    case DType::Q6_K: f = DType::Q8_0; break;
    default: break;  // 32-element types (llama.cpp refuses these): F16 keeps the tensor usable
  }
  return row_len % dtype_info(f).block_size == 0 ? f : DType::F16;
}

std::vector<DType> choose_types(const FileType& ft, std::span<const MixTensor> tensors, const MixModel& m,
                                bool pure, std::vector<DType>* before_fallback) {
  MixState s{.ft = ft, .m = m};
  for (const MixTensor& t : tensors) {
    if (t.name == "output.weight") s.has_output = true;
    if (has(t.name, "attn_v.weight") || has(t.name, "attn_qkv.weight")) ++s.n_attention_wv;
  }
  s.n_ffn_down = m.n_layer;
  std::vector<size_t> order(tensors.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return tensors[a].name < tensors[b].name; });
  std::vector<DType> out(tensors.size()), pre(tensors.size());
  const bool mix = !pure && is_quantized(ft.base);
  for (size_t i : order) {
    const MixTensor& t = tensors[i];
    if (!should_quantize(t)) {
      out[i] = pre[i] = t.type;
      continue;
    }
    pre[i] = mix ? mixed_type(s, t) : ft.base;
    out[i] = fallback_type(pre[i], t.ne[0]);
  }
  if (before_fallback != nullptr) *before_fallback = std::move(pre);
  return out;
}

}  // namespace slm::quant
