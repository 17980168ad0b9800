// Importance matrices: the mean squared activation of every input column of each weight matrix, collected
// over calibration text, read and written in llama.cpp's formats (GGUF imatrix and the legacy imatrix.dat).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "model/model.h"

namespace slm::model {

struct Imatrix {
  struct Entry {
    std::vector<float> values;  // mean of x[j]^2 over every row the weight saw, per input column j
    int32_t ncall = 0;          // chunks that contributed
    double count = 0;           // activation rows (tokens) behind the mean; 0 when unknown (legacy files)
  };
  std::map<std::string, Entry> entries;  // by tensor name ("blk.0.attn_q.weight")
  int32_t chunks = 0;                    // chunks processed in total
  std::string dataset;                   // calibration file name (written at the end of the file)
  int32_t chunk_size = 0;                // tokens per chunk; 0 when unknown (legacy files)

  const std::vector<float>* find(const std::string& tensor) const;
};

// Legacy binary format, little-endian: int32 n_entries, then per entry int32 name_len, name bytes, int32 ncall,
// int32 nval, float[nval] (each value = mean * ncall); then int32 chunks, int32 len, dataset bytes.
// The reader accepts files without the trailing chunk count and dataset name; anything malformed throws.
void imatrix_write(const Imatrix& m, const std::string& path);
Imatrix imatrix_parse(std::span<const uint8_t> bytes, const std::string& name = "<memory>");

// GGUF format (llama.cpp's current one): general.type "imatrix"; imatrix.datasets (array of strings),
// imatrix.chunk_count and imatrix.chunk_size (u32); per weight two F32 tensors, "<name>.in_sum2" of shape
// (n_cols, 1) holding the sum of x[j]^2 over every activation row, and "<name>.counts" of shape (1, 1)
// holding the number of rows, so mean = in_sum2 / counts. Files with several matrices per tensor
// (mixture-of-experts, shape (n_cols, n_expert)) are refused. Without a row count (an imatrix read from a
// legacy file) counts = ncall * chunk_size (512 when unknown, as llama.cpp's converter assumes).
void imatrix_write_gguf(const Imatrix& m, const std::string& path);
Imatrix imatrix_parse_gguf(std::span<const uint8_t> bytes, const std::string& name = "<memory>");

// Either format, told apart by the GGUF magic.
Imatrix imatrix_read(const std::string& path);

struct ImatrixOptions {
  int n_ctx = 512;  // tokens per chunk (each chunk starts a fresh sequence)
  int max_chunks = 0;  // 0: every chunk of the text
};

// Runs every chunk of `tokens` through the model and accumulates the squared inputs of each projection
// (attn_q/k/v, attn_output, ffn_gate/up/down; fused tensors once per input). output.weight is not collected.
// progress (optional): called after each chunk with (done, total).
Imatrix imatrix_collect(const Model& model, std::span<const int32_t> tokens, const ImatrixOptions& opt,
                        const std::function<void(int, int)>& progress = {});

}  // namespace slm::model
