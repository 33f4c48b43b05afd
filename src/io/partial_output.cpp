#include "io/partial_output.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "io/file_util.h"
#include "vitnt/vitnt.h"

namespace fs = std::filesystem;

namespace vitnt::io {

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string q = "\"";
  for (char ch : s) q += (ch == '"') ? std::string("\"\"") : std::string(1, ch);
  return q + "\"";
}

std::string first_csv_field(const std::string& line) {
  std::string out;
  if (line.empty() || line[0] != '"') return line.substr(0, line.find(','));
  for (size_t i = 1; i < line.size(); ++i) {
    if (line[i] != '"') {
      out += line[i];
    } else if (i + 1 < line.size() && line[i + 1] == '"') {
      out += '"';
      ++i;
    } else {
      break;
    }
  }
  return out;
}

namespace {

void write_all(int fd, const std::string& s, const std::string& name) {
  size_t done = 0;
  while (done < s.size()) {
    ssize_t n = ::write(fd, s.data() + done, s.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw Error(name + ": write failed: " + std::strerror(errno));
    done += static_cast<size_t>(n);
  }
}

// The first setting (in `want`'s order, then `have`'s) whose value differs.
std::optional<std::string> first_difference(const nlohmann::json& have,
                                            const nlohmann::json& want) {
  for (auto it = want.begin(); it != want.end(); ++it)
    if (!have.contains(it.key()) || have[it.key()] != it.value())
      return "its run had " + it.key() + " = " +
             (have.contains(it.key()) ? have[it.key()].dump() : std::string("(none)")) +
             ", this one has " + it.value().dump();
  for (auto it = have.begin(); it != have.end(); ++it)
    if (!want.contains(it.key()))
      return "its run had " + it.key() + " = " + it.value().dump() + ", this one has none";
  return std::nullopt;
}

}  // namespace

PartialOutput::PartialOutput(const std::string& path, const nlohmann::json& settings,
                             const std::string& header, bool resume, const RowKey& key)
    : path_(path), partial_(path + ".partial"), settings_path_(path + ".partial.json"), key_(key) {
  std::error_code ec;
  const bool exists = fs::exists(partial_, ec);
  if (!resume) {
    if (exists)
      throw Error(partial_ + ": a stopped run's output is here; continue it with --resume, " +
                  "or delete it (and " + settings_path_ + ") to start over");
    AtomicFile s(settings_path_);
    s.write(settings.dump(1) + "\n");
    s.commit();
    fd_ = ::open(partial_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd_ < 0) throw Error(partial_ + ": cannot create output: " + std::strerror(errno));
    write_all(fd_, header, partial_);
    return;
  }
  if (!exists) throw Error(partial_ + ": nothing to resume (no such file); run without --resume");
  nlohmann::json had;
  try {
    had = nlohmann::json::parse(read_text_file(settings_path_));
  } catch (const nlohmann::json::exception& e) {
    throw Error(settings_path_ + ": cannot read the stopped run's settings: " + e.what());
  }
  if (auto diff = first_difference(had, settings))
    throw Error("cannot resume " + partial_ + ": " + *diff +
                "; resume with the same inputs and options, or delete it to start over");

  // Keep complete lines only, then drop the last input's rows: it may have been cut
  // between two of its rows (a photo with several faces).
  std::ifstream f(partial_, std::ios::binary);
  if (!f) throw Error(partial_ + ": cannot read: " + std::strerror(errno));
  std::string line, last_key;
  size_t offset = 0, last_key_start = 0, rows = 0, rows_before_last = 0;
  bool header_ok = header.empty();
  while (std::getline(f, line)) {
    if (f.eof()) break;  // no newline: an incomplete last line
    const size_t start = offset;
    offset += line.size() + 1;
    if (!header_ok) {
      if (offset > header.size() || header.compare(start, line.size() + 1, line + "\n") != 0)
        throw Error(partial_ + ": does not start with this run's header; delete it to start over");
      header_ok = offset == header.size();
      continue;
    }
    std::string k = key(line);
    if (k.empty()) continue;
    if (k != last_key) {
      last_key = k;
      last_key_start = start;
      rows_before_last = rows;
    }
    ++rows;
  }
  size_t keep = offset;
  if (!header_ok) {
    keep = 0;  // killed while writing the header: write it again
  } else if (!last_key.empty()) {
    keep = last_key_start;
    resume_from_ = last_key;
    kept_rows_ = rows_before_last;
  }
  f.close();
  if (::truncate(partial_.c_str(), static_cast<off_t>(keep)) != 0)
    throw Error(partial_ + ": cannot truncate for resuming: " + std::strerror(errno));
  fd_ = ::open(partial_.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
  if (fd_ < 0) throw Error(partial_ + ": cannot open for resuming: " + std::strerror(errno));
  if (keep == 0) write_all(fd_, header, partial_);
}

PartialOutput::~PartialOutput() {
  if (fd_ >= 0) ::close(fd_);  // left in place: the run can be resumed
}

void PartialOutput::for_each_kept_row(
    const std::function<void(const std::string& line)>& visit) const {
  std::ifstream f(partial_, std::ios::binary);
  std::string line;
  for (size_t n = 0; n < kept_rows_ && std::getline(f, line);) {
    if (key_(line).empty()) continue;  // the header
    visit(line);
    ++n;
  }
}

void PartialOutput::append(const std::string& rows) { write_all(fd_, rows, partial_); }

void PartialOutput::commit() {
  if (::fsync(fd_) != 0 || ::close(fd_) != 0) {
    fd_ = -1;
    throw Error(partial_ + ": cannot finish writing: " + std::strerror(errno));
  }
  fd_ = -1;
  if (std::rename(partial_.c_str(), path_.c_str()) != 0)
    throw Error(partial_ + ": cannot rename the finished output to " + path_ + ": " +
                std::strerror(errno));
  ::unlink(settings_path_.c_str());
}

}  // namespace vitnt::io
