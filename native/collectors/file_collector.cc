// collector=file: token `arg1n` of the file `arg1`, parsed as a base-10 number and scaled by `arg2n`.
//
// Tokens are maximal runs of non-separators (space, tab, CR, LF, NUL), numbered from 0. Unlike uWSGI:
//   * the file is read to the end of the wanted token, however large, and the token ends where the data
//     does (uWSGI reads one 4 KiB buffer and parses past the data into stale stack bytes);
//   * leading separators do not make an empty token 0 (uWSGI reads "  5 6" as 5, 5, 6);
//   * a file that cannot be read, or has no such token, keeps the last value (initial_value before the
//     first good read) and is logged once when that state begins and once when it ends.

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include "metric_collector.h"

namespace shmetrics {

namespace {

bool is_separator(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\0'; }

// The token-th token of the file, or an error text.
bool read_token(const std::string& path, int64_t token, std::string* out, std::string* error) {
  if (token < 0) {
    *error = "token index " + std::to_string(token) + " is negative";
    return false;
  }
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    *error = std::string("cannot open ") + path + ": " + strerror(errno);
    return false;
  }
  char buffer[65536];
  int64_t index = -1;  // the token being read, -1 before the first
  bool in_token = false;
  for (;;) {
    ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      *error = std::string("cannot read ") + path + ": " + strerror(errno);
      ::close(fd);
      return false;
    }
    if (n == 0) break;
    for (ssize_t i = 0; i < n; i++) {
      if (is_separator(buffer[i])) {
        if (in_token && index == token) {
          ::close(fd);
          return true;
        }
        in_token = false;
        continue;
      }
      if (!in_token) {
        in_token = true;
        index++;
      }
      if (index == token) out->push_back(buffer[i]);
    }
  }
  ::close(fd);
  if (index >= token) return true;  // the token ran to the end of the data
  *error = path + " has no token " + std::to_string(token) + " (it has " + std::to_string(index + 1) + ")";
  return false;
}

// A base-10 prefix of `text`: optional sign, digits, and with a scale, a fraction (scaled then truncated
// toward zero). "12abc" is 12, "3.9" is 3, "0x10" is 0, "abc" is 0; "0.52" scaled by 100 is 52.
int64_t parse_number(const std::string& text, int64_t scale) {
  size_t i = 0;
  bool negative = false;
  if (i < text.size() && (text[i] == '+' || text[i] == '-')) negative = text[i++] == '-';
  uint64_t whole = 0;
  for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; i++) whole = whole * 10 + uint64_t(text[i] - '0');
  uint64_t magnitude = whole;
  if (scale != 0) {
    magnitude = whole * uint64_t(scale);
    if (i < text.size() && text[i] == '.') {
      // fraction * scale / 10^digits, exact in 128 bits for up to 18 fraction digits
      unsigned __int128 fraction = 0, unit = 1;
      for (i++; i < text.size() && text[i] >= '0' && text[i] <= '9' && unit < 1000000000000000000ULL; i++) {
        fraction = fraction * 10 + unsigned(text[i] - '0');
        unit *= 10;
      }
      magnitude += uint64_t(fraction * (unsigned __int128)(scale < 0 ? -scale : scale) / unit) * (scale < 0 ? -1 : 1);
    }
  }
  return negative ? int64_t(0 - magnitude) : int64_t(magnitude);
}

class FileCollector : public MetricCollector {
 public:
  explicit FileCollector(const MetricMeta& meta)
      : path_(meta.arg[0]), token_(meta.argn[0]), scale_(meta.argn[1]), name_(meta.name, meta.name_bytes) {}

  std::optional<int64_t> collect(const CollectContext& c) override {
    std::string token, error;
    if (!read_token(path_, token_, &token, &error)) {
      if (error != last_error_)
        c.log("metric \"" + name_ + "\": " + error + "; keeping the value " + std::to_string(c.current));
      last_error_ = error;
      return std::nullopt;
    }
    if (!last_error_.empty()) c.log("metric \"" + name_ + "\": " + path_ + " is readable again");
    last_error_.clear();
    return wrapping_add(c.meta.initial_value, parse_number(token, scale_));
  }

 private:
  std::string path_;
  int64_t token_;
  int64_t scale_;
  std::string name_;
  std::string last_error_;
};

}  // namespace

std::unique_ptr<MetricCollector> make_file_collector(const MetricMeta& meta) {
  return std::make_unique<FileCollector>(meta);
}

}  // namespace shmetrics
