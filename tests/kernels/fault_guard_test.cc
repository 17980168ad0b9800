// run_fault_guarded, the net under the AMX start-up check: real faults (an undefined instruction, a read of
// an unmapped page, a read past the end of a mapped file) come back as their signal numbers, the previous
// handlers are in place afterwards, and a fault outside the guard still ends the process.
#include <gtest/gtest.h>

#include <csignal>
#include <cstdio>

#include <sys/mman.h>
#include <unistd.h>

#include "kernels/cpu/fault_guard.h"

namespace slm::kernels::cpu {
namespace {

void undefined_instruction(void*) {
#if defined(__x86_64__)
  asm volatile("ud2");
#else
  raise(SIGILL);
#endif
}

void read_byte(void* p) { (void)*static_cast<volatile const char*>(p); }

void (*handler_of(int sig))(int) {
  struct sigaction now = {};
  sigaction(sig, nullptr, &now);
  return now.sa_handler;
}

TEST(FaultGuard, ReturnsZeroAndRunsTheProbeWhenNothingFaults) {
  int ran = 0;
  EXPECT_EQ(run_fault_guarded([](void* p) { ++*static_cast<int*>(p); }, &ran), 0);
  EXPECT_EQ(ran, 1);
}

TEST(FaultGuard, UndefinedInstructionIsSigill) {
  const auto before = handler_of(SIGILL);
  EXPECT_EQ(run_fault_guarded(undefined_instruction, nullptr), SIGILL);
  EXPECT_EQ(handler_of(SIGILL), before);
  // Again, from the same thread: the signal was unblocked on the way out.
  EXPECT_EQ(run_fault_guarded(undefined_instruction, nullptr), SIGILL);
}

TEST(FaultGuard, UnmappedPageIsSigsegv) {
  const long page = sysconf(_SC_PAGESIZE);
  void* p = mmap(nullptr, size_t(page), PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(p, MAP_FAILED);
  const auto before = handler_of(SIGSEGV);
  EXPECT_EQ(run_fault_guarded(read_byte, p), SIGSEGV);
  EXPECT_EQ(handler_of(SIGSEGV), before);
  munmap(p, size_t(page));
}

TEST(FaultGuard, ReadPastTheEndOfAMappedFileIsSigbus) {
  const long page = sysconf(_SC_PAGESIZE);
  FILE* f = tmpfile();
  ASSERT_NE(f, nullptr);
  ASSERT_EQ(ftruncate(fileno(f), page), 0);
  auto* p = static_cast<char*>(mmap(nullptr, size_t(2 * page), PROT_READ, MAP_PRIVATE, fileno(f), 0));
  ASSERT_NE(static_cast<void*>(p), MAP_FAILED);
  EXPECT_EQ(run_fault_guarded(read_byte, p), 0);  // inside the file
  EXPECT_EQ(run_fault_guarded(read_byte, p + page), SIGBUS);
  munmap(p, size_t(2 * page));
  fclose(f);
}

TEST(FaultGuardDeathTest, AFaultAfterTheGuardStillEndsTheProcess) {
  EXPECT_EXIT(
      {
        if (run_fault_guarded(undefined_instruction, nullptr) == SIGILL) undefined_instruction(nullptr);
        _exit(0);
      },
      testing::KilledBySignal(SIGILL), "");
}

}  // namespace
}  // namespace slm::kernels::cpu
