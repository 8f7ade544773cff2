// A directory of one-line text files that readers may `cat` at any moment: the primitive under the
// metrics-dir view (src/metrics-dir/). Each file holds exactly its text (no padding), and no reader ever
// sees a half-written or empty file:
//   * a text of the same length as the file's current one, up to 16 bytes (every value below 10^15), is
//     stored into a shared mapping of the file with one aligned 8- or 16-byte store: no system call, and
//     a reader's read() sees the old bytes or the new ones (tested with a reader in a tight loop);
//   * any other text goes to a new file that is renamed over the old one.
// Values keep their length most of the time, so a flush costs about a microsecond per changed file.

#pragma once

#include <sys/types.h>

#include <string>
#include <unordered_map>

namespace shmetrics {

class TextFiles {
 public:
  // Creates `dir` (mode 0700) when missing. Files are created with `mode`, whatever the umask.
  TextFiles(const std::string& dir, mode_t mode);
  ~TextFiles();
  TextFiles(const TextFiles&) = delete;
  TextFiles& operator=(const TextFiles&) = delete;

  // Makes `name` hold exactly `text`. Throws RegionException(kOpen) naming the file on failure.
  void write(const std::string& name, const std::string& text);
  // Removes `name` if it exists (and forgets it).
  void remove(const std::string& name);

 private:
  struct File {
    void* mapping = nullptr;  // one page, MAP_SHARED
    size_t length = 0;        // the file's size
  };
  void replace(const std::string& name, const std::string& text, File& file);

  std::string dir_;
  int dir_fd_ = -1;
  mode_t mode_;
  bool wide_stores_;  // 16-byte stores are single-copy atomic on this CPU
  std::unordered_map<std::string, File> files_;
};

}  // namespace shmetrics
