// The inference engine's public surface: Model (config + weights mapped from GGUF or llama2.c .bin),
// KvCache (multi-sequence, F16 or F32), Batch, and the batched forward pass.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/huge_buffer.h"
#include "model/config.h"

namespace slm::gguf {
class File;
}

namespace slm::model {

// One forward call's tokens. Row i is token tokens[i] at position positions[i] of sequence seq_ids[i];
// want_logits[i] != 0 asks for its logits. Rows of one sequence must appear in increasing position order,
// and a sequence's first new position must equal its current cache length (no holes).
// adapters: empty = every LoRA adapter of the model applies to every row; else one entry per row, the
// index (Model::add_lora order) of the one adapter that row uses, or -1 for none (per-request adapters).
struct Batch {
  std::vector<int32_t> tokens;
  std::vector<int32_t> positions;
  std::vector<int32_t> seq_ids;
  std::vector<uint8_t> want_logits;
  std::vector<int32_t> adapters;

  void add(int32_t token, int32_t pos, int32_t seq = 0, bool logits = false) {
    tokens.push_back(token);
    positions.push_back(pos);
    seq_ids.push_back(seq);
    want_logits.push_back(logits ? 1 : 0);
  }
  void clear() { tokens.clear(), positions.clear(), seq_ids.clear(), want_logits.clear(), adapters.clear(); }
  size_t size() const { return tokens.size(); }
  size_t n_logits() const;  // rows with want_logits set
};

enum class KvType { f32, f16 };

struct KvCacheOptions {
  int n_seq = 1;       // sequences the cache holds, ids 0..n_seq-1
  int n_ctx = 0;       // positions per sequence; 0 = the model's context length
  KvType type = KvType::f16;
  int block = 0;       // 0: one contiguous n_ctx region per sequence; > 0: paged, positions per block
  int n_blocks = 0;    // paged: blocks in the shared pool; 0 = n_seq * ceil(n_ctx / block)
};

// K and V for every layer and sequence: for each kv head a row of head_dim values per position, stored
// head-major so that one head's positions follow each other (decode attention streams them).
// Contiguous: (layer, seq, kv head, position, head_dim), n_layer * n_seq * n_ctx * 2 * kv_dim * (2 or 4)
// bytes allocated up front.
// Paged (block > 0): a shared pool of n_blocks blocks, each holding `block` positions of every layer as
// (layer, kv head, position in block, head_dim), and a block table per sequence; position p of a sequence
// lives in block table[p / block]. Blocks are
// reference-counted: each table entry holds one reference and an outside owner (a prefix cache) may hold
// more (retain_block / release_block), so sequences that share a prompt prefix share its blocks. Writes go
// only to blocks one sequence holds: reserve() copies a shared block before a sequence writes into it.
class KvCache {
 public:
  KvCache(const ModelConfig& cfg, KvCacheOptions opt = {});

  int n_seq() const { return n_seq_; }
  int n_ctx() const { return n_ctx_; }
  KvType type() const { return type_; }
  int seq_len(int seq) const;       // positions filled so far (the next position to feed)
  void clear(int seq);              // forget a sequence
  void clear_all();
  void truncate(int seq, int n);    // keep the first n positions (n <= seq_len), e.g. to rewind a chat

  // Raw access for the attention block: kv head h's head_dim values at a position, float or f16.
  void* k_head(int layer, int seq, int pos, int h);
  void* v_head(int layer, int seq, int pos, int h);
  // Positions from pos on whose head rows follow each other in memory (head_dim values apart): to the end
  // of pos's block when paged, to the end of the context otherwise.
  int contiguous_rows(int pos) const { return block_ > 0 ? block_ - pos % block_ : n_ctx_ - pos; }
  int head_dim() const { return head_dim_; }
  int kv_dim() const { return n_head_kv_ * head_dim_; }
  int n_layer() const { return n_layer_; }
  void set_seq_len(int seq, int n);  // used by forward after writing positions

  // Paged caches only (the contiguous layout answers paged() == false and reserve() == true).
  bool paged() const { return block_ > 0; }
  int block_size() const { return block_; }
  int n_blocks() const { return int(refs_.size()); }
  int free_blocks() const { return int(free_.size()); }
  int block_refs(int b) const;
  std::span<const int32_t> block_table(int seq) const;
  // Blocks reserve(seq, n) would take from the pool (new blocks plus copies of shared ones).
  int blocks_needed(int seq, int n) const;
  // Backs positions [0, n) of `seq` with blocks and makes positions [seq_len, n) writable (a block there
  // that others hold is copied first). Returns false and changes nothing when the pool is short.
  bool reserve(int seq, int n);
  // Reserves every position the batch writes (Model::forward calls it); throws when the pool is short.
  void reserve_batch(const Batch& batch);
  // Starts the empty sequence `seq` on shared blocks (one more reference each) that hold its first n
  // positions (n <= blocks.size() * block_size()).
  void attach(int seq, std::span<const int32_t> blocks, int n);
  void retain_block(int b);
  void release_block(int b);  // back to the pool when nothing holds it

 private:
  size_t offset(int layer, int seq, int pos, int h) const;
  size_t block_bytes() const { return size_t(n_layer_) * size_t(block_) * size_t(kv_dim()) * elem_bytes_; }
  int32_t take_block();
  void check_block(int b) const;
  int n_layer_ = 0, n_seq_ = 0, n_ctx_ = 0, n_head_kv_ = 0, head_dim_ = 0, block_ = 0;
  KvType type_ = KvType::f16;
  size_t elem_bytes_ = 2;
  HugeBuffer k_, v_;  // huge pages: decode reads every row of the context each step
  std::vector<int> len_;
  std::vector<std::vector<int32_t>> table_;  // paged: per sequence, its blocks in position order
  std::vector<int32_t> refs_;                // paged: per block
  std::vector<int32_t> free_;                // paged: blocks nothing holds (a stack)
};

struct Weights;  // model/weights.h: views into the mapped file
struct ArchSpec;  // model/registry.h
struct LoadedFile;

class Model {
 public:
  // GGUF (any architecture in the registry) or llama2.c .bin (version 0 or 1, float32).
  // The file stays mapped for the Model's lifetime; weights are used in place, and the projections the
  // active kernel table has a faster layout for are also repacked into memory the Model owns
  // (MatView::packed, CpuKernels::pack; SLM_NO_REPACK=1 skips that).
  // Throws slm::Error for unknown architectures, missing/ill-shaped tensors and bad metadata.
  static Model load(const std::string& path);
  // From an already-open GGUF (shared, kept alive by the Model).
  static Model from_gguf(std::shared_ptr<const gguf::File> file);

  Model(Model&&) noexcept;
  Model& operator=(Model&&) noexcept;
  ~Model();

  const ModelConfig& config() const { return cfg_; }
  int n_vocab() const { return cfg_.n_vocab; }
  int n_ctx() const { return cfg_.n_ctx; }
  // The GGUF the model came from (for tokenizer metadata), or null for a llama2.c .bin.
  const gguf::File* gguf() const;
  const Weights& weights() const { return *weights_; }
  // Applies a llama.cpp GGUF LoRA adapter (general.type=adapter) at every projection it names, as
  // y += scale * alpha / rank * B (A x); several may be added. Defined in model/lora.cc. Throws slm::Error
  // for a file that is not an adapter or does not match the model's shapes. Returns the adapter's index
  // (0, 1, ...), which Batch::adapters uses to pick it per row.
  int add_lora(const std::string& path, float scale = 1.0f);
  int n_loras() const { return int(adapters_.size()); }

  KvCache make_cache(KvCacheOptions opt = {}) const { return KvCache(cfg_, opt); }

  // Runs every row of the batch through the network, appending K/V to `kv`, and writes logits for the
  // rows with want_logits set, in batch order: logits_out must hold batch.n_logits() * n_vocab floats.
  // Throws slm::Error for token ids out of range, seq ids out of range, positions past the cache's
  // context or not contiguous with what the cache holds, and a wrong logits_out size.
  void forward(const Batch& batch, KvCache& kv, std::span<float> logits_out) const;

  // Convenience: feeds `tokens` to sequence `seq` starting at kv.seq_len(seq), in chunks of at most
  // `chunk` tokens, and returns the logits of every token ([tokens.size(), n_vocab]) or only of the last
  // one ([n_vocab]) when all_logits is false.
  std::vector<float> prefill(std::span<const int32_t> tokens, KvCache& kv, int seq = 0,
                             bool all_logits = false, int chunk = 512) const;

 private:
  Model();
  ModelConfig cfg_;
  const ArchSpec* arch_ = nullptr;  // null for llama2.c checkpoints (the shared decoder)
  std::unique_ptr<LoadedFile> file_;
  std::unique_ptr<Weights> weights_;
  std::vector<std::shared_ptr<const void>> adapters_;  // storage behind the LoRA views in weights_
  std::shared_ptr<HugeBuffer> packed_;                  // repacked projections (MatView::packed), or null
};

}  // namespace slm::model
