// Chat templates against real models' templates: every render must be byte-identical to what
// transformers' apply_chat_template produced (../shared/testdata/chat_templates).
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "common/testdata.h"
#include "core/error.h"
#include "tokenizer/chat_template.h"

namespace slm {
namespace {

std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::optional<std::string> opt_string(const nlohmann::ordered_json& j) {
  if (j.is_null()) return std::nullopt;
  return j.get<std::string>();
}

jinja::RenderOptions fixed_date() {  // the test data fixes strftime_now to 26 Jul 2024
  jinja::RenderOptions o;
  std::tm t{};
  t.tm_year = 2024 - 1900;
  t.tm_mon = 6;
  t.tm_mday = 26;
  t.tm_wday = 5;
  t.tm_yday = 207;
  o.now = t;
  return o;
}

TEST(ChatTemplateRef, AllExpectedRendersAreByteIdentical) {
  SLM_REQUIRE_TESTDATA(dir, "chat_templates");
  const auto cases = nlohmann::ordered_json::parse(slurp(dir / "cases.json"));
  const auto opt = fixed_date();
  int n_files = 0, n_files_ok = 0, n_errors = 0, n_errors_ok = 0;
  for (const auto& r : cases["results"]) {
    const std::string model = r["model"], cname = r["case"];
    const bool gen = r["add_generation_prompt"];
    SCOPED_TRACE(model + " / " + cname + (gen ? " / gen" : " / nogen"));
    const auto& m = cases["models"][model];
    const ChatTemplate tmpl(slurp(dir / m["template_file"].get<std::string>()), opt_string(m["bos_token"]),
                            opt_string(m["eos_token"]));
    const auto& messages = cases["cases"][cname];
    if (r.contains("expected_file")) {
      ++n_files;
      const std::string want = slurp(dir / r["expected_file"].get<std::string>());
      std::string got;
      try {
        got = tmpl.render(messages, gen, nlohmann::ordered_json::object(), opt);
      } catch (const Error& e) {
        ADD_FAILURE() << e.what();
        continue;
      }
      EXPECT_EQ(got, want);
      n_files_ok += got == want;
    } else {
      ++n_errors;
      std::string want = r["error"];
      if (want.rfind("TemplateError: ", 0) == 0) want = want.substr(15);
      try {
        tmpl.render(messages, gen, nlohmann::ordered_json::object(), opt);
        ADD_FAILURE() << "expected error: " << want;
      } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find(want), std::string::npos) << e.what();
        n_errors_ok += std::string(e.what()).find(want) != std::string::npos;
      }
    }
  }
  std::printf("chat templates: %d/%d expected files byte-identical, %d/%d expected errors raised\n", n_files_ok,
              n_files, n_errors_ok, n_errors);
  EXPECT_EQ(n_files, 86);
  EXPECT_EQ(n_errors, 2);
}

// Real vocabulary GGUFs carry the same templates: loaded through GGUF metadata (template, bos/eos from
// the token ids), they must render the same expected files.
TEST(ChatTemplateRef, GgufTemplatesRenderTheExpectedFiles) {
  SLM_REQUIRE_TESTDATA(dir, "chat_templates");
  SLM_REQUIRE_TESTDATA(gguf_dir, "tokenizers/gguf");
  const auto cases = nlohmann::ordered_json::parse(slurp(dir / "cases.json"));
  const auto opt = fixed_date();
  const std::pair<const char*, const char*> pairs[] = {
      {"llama-bpe.gguf", "llama-3-8b-instruct"}, {"smollm.gguf", "smollm2-135m-instruct"}, {"qwen2.gguf", "qwen3"}};
  int n = 0, ok = 0;
  for (const auto& [file, model] : pairs) {
    const ChatTemplate tmpl = ChatTemplate::load((gguf_dir / file).string());
    EXPECT_EQ(tmpl.eos_token(), cases["models"][model]["eos_token"].get<std::string>()) << file;
    for (const auto& r : cases["results"]) {
      if (r["model"] != model || !r.contains("expected_file")) continue;
      SCOPED_TRACE(std::string(file) + " / " + r["case"].get<std::string>());
      const std::string got =
          tmpl.render(cases["cases"][r["case"].get<std::string>()], r["add_generation_prompt"].get<bool>(),
                      nlohmann::ordered_json::object(), opt);
      EXPECT_EQ(got, slurp(dir / r["expected_file"].get<std::string>()));
      ++n;
      ok += got == slurp(dir / r["expected_file"].get<std::string>());
    }
  }
  std::printf("GGUF chat templates: %d/%d expected files byte-identical\n", ok, n);
  EXPECT_EQ(n, 24);
}

}  // namespace
}  // namespace slm
