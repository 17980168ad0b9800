// Writes chat-template fuzz seeds of the constructs chat templates use (the test data's real templates are
// added by scripts/fuzz where it is present).
#include "text_seeds.h"

int main(int argc, char** argv) {
  return write_seeds(argc, argv, {
    R"({{ bos_token }}{% for message in messages %}{% if message['role'] == 'system' %}<<SYS>>{{ message['content'] | trim }}<</SYS>>
{% elif message.role == 'user' %}[INST] {{ message.content }} [/INST]{% else %}{{ message.content }}{{ eos_token }}{% endif %}{% endfor %})",
    R"({%- macro render(m, depth=0) -%}{%- if m is mapping -%}{{ m | tojson(indent=2) }}{%- elif m is string -%}{{ m | upper }}{%- else -%}{{ m | length }}{%- endif -%}{%- endmacro -%}
{%- set ns = namespace(last=none, n=0) -%}{%- for m in messages | selectattr('role', 'equalto', 'user') -%}{%- set ns.n = ns.n + 1 -%}{{ render(m) }}{%- endfor -%}
{%- if tools is defined and tools %}{% for t in tools %}{{ t.function.name ~ ':' ~ t.function.parameters | tojson }}{% endfor %}{% endif -%}
{{ ns.n }}{% if add_generation_prompt %}<|im_start|>assistant
{% endif %})",
    R"({% for m in messages[1:] %}{{ loop.index0 }}{{ m.content[:3] if m.content is string else m.content[0].text }}{% if not loop.last %}, {% endif %}{% endfor %}{{ raise_exception('x') if messages | length > 99 }}{{ strftime_now('%d %b %Y') }}{{ "a,b" .split(",") | join("|") }}{{ range(3) | list }}{{ {'k': [1, 2.5, none, true]} | items | list }})",
  });
}
