// Writes the request-body fuzz seeds: chat and completion requests using the fields the server accepts.
#include "text_seeds.h"

int main(int argc, char** argv) {
  return write_seeds(argc, argv, {
    R"({"model": "m", "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content":
        [{"type": "text", "text": "Hi"}, {"type": "text", "text": "there"}]}], "max_tokens": 16, "temperature": 0.2,
        "top_p": 0.9, "seed": 7, "stop": ["\n\n", "END"], "n": 2, "stream": true, "stream_options": {"include_usage": true},
        "logprobs": true, "top_logprobs": 3, "user": "u1"})",
    R"({"messages": [{"role": "user", "content": "Weather?"}, {"role": "assistant", "content": "Where?"},
        {"role": "user", "content": "Oslo"}],
        "response_format": {"type": "json_schema", "json_schema": {"name": "a", "strict": true, "schema":
        {"type": "object", "properties": {"t": {"type": "number"}}, "required": ["t"]}}}})",
    R"({"messages": [{"role": "user", "content": "Pick"}], "response_format": {"type": "json_object"},
        "max_completion_tokens": 5, "frequency_penalty": 0.5, "presence_penalty": -0.5, "top_k": 40, "min_p": 0.05})",
    R"({"model": "m", "prompt": ["Once", "Twice"], "max_tokens": 8, "logprobs": 2, "stop": "."})",
    R"({"prompt": [[1, 2, 3], [4]], "max_tokens": 1, "temperature": 0})",
  });
}
