// Locating ../shared/testdata for tests that need real files; such tests skip, saying why, when it is absent.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <string>

namespace slm::testing {

// $SLM_TESTDATA, else <repo>/../shared/testdata; empty when the folder does not exist.
inline std::filesystem::path testdata_dir() {
  namespace fs = std::filesystem;
  if (const char* env = std::getenv("SLM_TESTDATA"); env && *env) {
    return fs::is_directory(env) ? fs::path(env) : fs::path();
  }
  const fs::path def = fs::path(SLM_SOURCE_DIR) / ".." / "shared" / "testdata";
  return fs::is_directory(def) ? fs::canonical(def) : fs::path();
}

// A fresh temporary directory for one test, removed at scope exit.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "slm-test-XXXXXX").string();
    path_ = mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

}  // namespace slm::testing

// Skips the current test when the shared test data is absent, naming what is missing.
#define SLM_REQUIRE_TESTDATA(var, sub)                                                          \
  const std::filesystem::path var = ::slm::testing::testdata_dir() / (sub);                    \
  if (::slm::testing::testdata_dir().empty() || !std::filesystem::exists(var))                 \
  GTEST_SKIP() << "test data '" << (sub) << "' not found (set SLM_TESTDATA to shared/testdata)"
