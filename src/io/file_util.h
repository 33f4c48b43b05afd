// Small file helpers shared by the library and the CLI.
#pragma once

#include <string>

namespace vitnt::io {

// Whole file as text; vitnt::Error naming the file when it cannot be read.
std::string read_text_file(const std::string& path);

// Writes `path` atomically: the content goes to a temporary file in the same folder,
// which is renamed over `path` by commit(). Destroyed without commit(): removed.
class AtomicFile {
 public:
  explicit AtomicFile(const std::string& path);
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;
  void write(const std::string& s);
  void commit();
  const std::string& path() const { return path_; }

 private:
  std::string path_, tmp_;
  int fd_ = -1;
};

// Removes the temporaries AtomicFile leaves when its process is killed (NAME.tmp.PID of
// a process that no longer runs) below `dir`; returns how many.
size_t remove_stale_temporaries(const std::string& dir);

}  // namespace vitnt::io
