// llama2.c checkpoints (.bin): version 0 (legacy 7-int header) and version 1 (export.py, "ak42" magic),
// float32 weights used in place from the mapping.
#pragma once

#include "io/mmap.h"
#include "model/config.h"
#include "model/weights.h"

namespace slm::model {

bool is_llama2c_magic(const MappedFile& f);  // true for a version 1+ header
// Reads the header and binds the weights; throws slm::Error for bad headers or truncated files.
void load_llama2c(const MappedFile& f, ModelConfig& cfg, Weights& w);

}  // namespace slm::model
