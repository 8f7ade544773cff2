#include "text_files.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "region.h"

namespace shmetrics {

namespace {

constexpr size_t kPage = 4096;

[[noreturn]] void fail(const std::string& path, const std::string& what) {
  throw RegionException(RegionException::Kind::kOpen, path + ": " + what + ": " + strerror(errno));
}

bool cpu_has_atomic_16_byte_stores() {
#if defined(__x86_64__)
  // Intel and AMD guarantee that aligned 16-byte SSE loads and stores are atomic on CPUs with AVX.
  return __builtin_cpu_supports("avx");
#else
  return false;
#endif
}

}  // namespace

TextFiles::TextFiles(const std::string& dir, mode_t mode) : dir_(dir), mode_(mode), wide_stores_(cpu_has_atomic_16_byte_stores()) {
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) fail(dir, "cannot create the directory");
  dir_fd_ = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd_ < 0) fail(dir, "cannot open the directory");
}

TextFiles::~TextFiles() {
  for (auto& entry : files_)
    if (entry.second.mapping) munmap(entry.second.mapping, kPage);
  if (dir_fd_ >= 0) ::close(dir_fd_);
}

void TextFiles::write(const std::string& name, const std::string& text) {
  File& file = files_[name];
  const size_t n = text.size();
  if (file.mapping && n == file.length && n <= 16) {
    if (n <= 8) {
      uint64_t word = 0;
      memcpy(&word, text.data(), n);  // the bytes past n lie past the end of the file: never read
      __atomic_store_n(static_cast<uint64_t*>(file.mapping), word, __ATOMIC_RELEASE);
      return;
    }
#if defined(__x86_64__)
    if (wide_stores_) {
      alignas(16) char bytes[16] = {0};
      memcpy(bytes, text.data(), n);
      _mm_store_si128(static_cast<__m128i*>(file.mapping), _mm_load_si128(reinterpret_cast<const __m128i*>(bytes)));
      return;
    }
#endif
  }
  replace(name, text, file);
}

void TextFiles::replace(const std::string& name, const std::string& text, File& file) {
  const std::string temporary = ".shmetrics-new." + name;
  const std::string path = dir_ + "/" + name;
  int fd = ::openat(dir_fd_, temporary.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, mode_);
  if (fd < 0) fail(path, "cannot create");
  if (fchmod(fd, mode_) != 0 || ::write(fd, text.data(), text.size()) != ssize_t(text.size())) {
    int err = errno;
    ::close(fd);
    ::unlinkat(dir_fd_, temporary.c_str(), 0);
    errno = err;
    fail(path, "cannot write");
  }
  void* mapping = text.size() <= 16 ? mmap(nullptr, kPage, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0) : nullptr;
  ::close(fd);
  if (mapping == MAP_FAILED) mapping = nullptr;  // it still works: every later write replaces the file
  if (::renameat(dir_fd_, temporary.c_str(), dir_fd_, name.c_str()) != 0) {
    int err = errno;
    if (mapping) munmap(mapping, kPage);
    ::unlinkat(dir_fd_, temporary.c_str(), 0);
    errno = err;
    fail(path, "cannot replace");
  }
  if (file.mapping) munmap(file.mapping, kPage);
  file.mapping = mapping;
  file.length = text.size();
}

void TextFiles::remove(const std::string& name) {
  auto it = files_.find(name);
  if (it != files_.end()) {
    if (it->second.mapping) munmap(it->second.mapping, kPage);
    files_.erase(it);
  }
  if (::unlinkat(dir_fd_, name.c_str(), 0) != 0 && errno != ENOENT) fail(dir_ + "/" + name, "cannot remove");
}

}  // namespace shmetrics
