// Model conversion: Hugging Face checkpoints (safetensors + config/tokenizer JSON) and llama2.c
// checkpoints to GGUF, and GGUF back to a Hugging Face folder.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/dtype.h"

namespace slm::convert {

// The side file the exporter writes next to config.json: everything a GGUF holds that a Hugging Face
// folder cannot (general.* keys, the exact metadata with types and order, tensor order and types, and
// tensors without a Hugging Face name such as rope_freqs). convert_hf() reads it back when present, so
// GGUF -> HF -> GGUF reproduces the file. Format: JSON {"format": "slm-gguf-side/1", "version",
// "alignment", "metadata": [{"key", "type", "value"}...], "tensors": [{"name", "type", "hf"}...]}.
inline constexpr const char* kSideFile = "gguf_metadata.json";
// Tensors that have no Hugging Face name, or whose transform back is not exact, stored as GGUF has them.
inline constexpr const char* kSideTensors = "gguf_extra.safetensors";

struct HfOptions {
  // Output type of the weight matrices: F32, F16, BF16 or Q8_0; nullopt keeps each tensor's stored
  // float type. 1-D tensors, norms and biases are always F32 (as llama.cpp's converter writes them).
  std::optional<DType> type;
  bool vocab_only = false;                   // tokenizer and hyper-parameters only, no tensors
  std::string pre;                           // tokenizer.ggml.pre override ("" = detect)
  std::optional<std::string> chat_template;  // overrides tokenizer_config.json's
  bool use_side_file = true;                 // honour gguf_metadata.json when the folder has one
};

struct ConvertSummary {
  std::string arch;
  size_t n_tensors = 0;
  size_t n_metadata = 0;
  uint64_t bytes = 0;  // output file size
  bool from_side_file = false;
};

// HF_DIR: config.json, model.safetensors or model.safetensors.index.json + shards, tokenizer.json,
// optional tokenizer_config.json and generation_config.json. Throws slm::Error("[convert] ...").
ConvertSummary convert_hf(const std::string& hf_dir, const std::string& out_gguf, const HfOptions& opt = {});

struct ExportSummary {
  std::string arch;
  size_t n_tensors = 0;        // written to model.safetensors
  size_t n_side_tensors = 0;   // written to gguf_extra.safetensors
  bool tokenizer_files = false;
};
// Writes DIR/model.safetensors, config.json, generation_config.json, gguf_metadata.json (and
// gguf_extra.safetensors when needed), plus tokenizer.json and tokenizer_config.json when the
// vocabulary is byte-level BPE with a known pre-tokenizer. Quantised tensors are an error.
ExportSummary export_hf(const std::string& gguf_path, const std::string& out_dir);

// llama2.c checkpoint (.bin, version 0 or 1) and its tokenizer.bin to a GGUF "llama" model with a
// SentencePiece-style vocabulary; weights stay in the checkpoint's interleaved rope order (no permutation).
// `type`: output type of the weight matrices (F32 when nullopt).
ConvertSummary convert_llama2c(const std::string& checkpoint, const std::string& tokenizer_bin,
                               const std::string& out_gguf, std::optional<DType> type = std::nullopt);

// "f32", "f16", "bf16", "q8_0" (any case) -> the output type; throws slm::Error for others.
DType parse_output_type(const std::string& s);

}  // namespace slm::convert
