// The demo's task contract and its data files: the spam label task (subject + a body cut to fit the
// model's context under its tokenizer), the few-shot variant the base model is evaluated with, and the
// LoRA training records rendered through the model's chat template.
#pragma once

#include <string>

#include "app/demo_steps.h"

namespace slm::tok {
class Tokenizer;
}

namespace slm::app {

// The base model's chat template: the user's text, then a newline where the answer begins (no role
// markers, so that local scoring, LoRA training and the server all see the same prompt).
inline constexpr const char* kDemoChatTemplate =
    "{% for message in messages %}{{ message['content'] }}{% endfor %}{% if add_generation_prompt %}{{ '\\n' }}{% endif %}";

struct TaskFiles {
  std::string contract, fewshot;       // task.yaml, fewshot.yaml
  std::string lora_train, lora_valid;  // {"prompt", "completion"} JSONL
  size_t n_train = 0, n_eval = 0, n_truncated = 0;
};

// Reads data_dir/{train,eval}.jsonl and writes out_dir/{task.yaml, fewshot.yaml, train.jsonl, eval.jsonl,
// lora-train.jsonl, lora-valid.jsonl}.
TaskFiles write_task_files(const DemoPlan& p, const tok::Tokenizer& tok, const std::string& data_dir,
                           const std::string& out_dir);

}  // namespace slm::app
