// Writes the config.json fuzz seeds: one per family, with the rope scalings that generate tensors.
#include "text_seeds.h"

int main(int argc, char** argv) {
  return write_seeds(argc, argv, {
    R"({"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 64, "intermediate_size": 128,
        "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2, "rms_norm_eps": 1e-5,
        "rope_theta": 500000.0, "max_position_embeddings": 2048, "vocab_size": 256, "tie_word_embeddings": true,
        "rope_scaling": {"rope_type": "llama3", "factor": 32.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                         "original_max_position_embeddings": 8192}})",
    R"({"architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2", "hidden_size": 64, "intermediate_size": 96,
        "num_hidden_layers": 1, "num_attention_heads": 8, "num_key_value_heads": 2, "rms_norm_eps": 1e-6,
        "rope_theta": 1000000.0, "max_position_embeddings": 4096, "vocab_size": 300, "sliding_window": 4096})",
    R"({"architectures": ["Phi3ForCausalLM"], "model_type": "phi3", "hidden_size": 32, "intermediate_size": 64,
        "num_hidden_layers": 1, "num_attention_heads": 4, "num_key_value_heads": 4, "rms_norm_eps": 1e-5,
        "max_position_embeddings": 131072, "original_max_position_embeddings": 4096, "vocab_size": 100,
        "rope_scaling": {"type": "longrope", "long_factor": [1.0, 1.5, 2.0, 2.5], "short_factor": [1.0, 1.0, 1.1, 1.2]}})",
    R"({"architectures": ["Gemma2ForCausalLM"], "model_type": "gemma2", "hidden_size": 32, "intermediate_size": 64,
        "num_hidden_layers": 2, "num_attention_heads": 2, "num_key_value_heads": 1, "head_dim": 16,
        "rms_norm_eps": 1e-6, "query_pre_attn_scalar": 16, "final_logit_softcapping": 30.0,
        "attn_logit_softcapping": 50.0, "sliding_window": 4096, "vocab_size": 64})",
    R"({"architectures": ["Qwen3ForCausalLM"], "model_type": "qwen3", "hidden_size": 32, "intermediate_size": 64,
        "num_hidden_layers": 1, "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 16,
        "rms_norm_eps": 1e-6, "vocab_size": 64})",
  });
}
