// Progressive, resumable output for long runs (`vitnt score`, `vitnt align`'s manifest).
//
// Rows go to PATH.partial as they are produced (one write per batch, in input order) and
// the run's settings to PATH.partial.json; commit() renames PATH.partial to PATH. A run
// that is killed leaves both files; the same command with resume = true checks that the
// settings are the same, drops an incomplete last line and the rows of the last input in
// the file (it may have been cut between its rows), and tells the caller which input to
// continue from. The final file is the same bytes as an uninterrupted run's.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace vitnt::io {

class PartialOutput {
 public:
  // The input a row belongs to (e.g. its first CSV field); empty: not a row (a header).
  using RowKey = std::function<std::string(const std::string& line)>;

  // Fresh (resume = false): refuses when PATH.partial exists, so an earlier run's work is
  // never overwritten by accident. `header` (may be empty) is written first.
  // Resume: refuses when there is no PATH.partial or its settings differ from `settings`
  // (the message names the first differing setting).
  PartialOutput(const std::string& path, const nlohmann::json& settings, const std::string& header,
                bool resume, const RowKey& key);
  ~PartialOutput();
  PartialOutput(const PartialOutput&) = delete;
  PartialOutput& operator=(const PartialOutput&) = delete;

  // With resume: the input to continue from (its rows were removed); unset when the
  // file held no row yet (start from the first input).
  const std::optional<std::string>& resume_from() const { return resume_from_; }
  // Calls `visit` on every row kept from the earlier run (e.g. to rebuild bookkeeping).
  void for_each_kept_row(const std::function<void(const std::string& line)>& visit) const;
  size_t kept_rows() const { return kept_rows_; }

  void append(const std::string& rows);  // handed to the OS at once: survives a kill -9
  void commit();                         // fsync, rename to PATH, drop the settings file
  const std::string& partial_path() const { return partial_; }

 private:
  std::string path_, partial_, settings_path_;
  RowKey key_;
  int fd_ = -1;
  size_t kept_rows_ = 0;
  std::optional<std::string> resume_from_;
};

// A CSV field, quoted when it needs it (RFC 4180), and the first field of a CSV line.
std::string csv_field(const std::string& s);
std::string first_csv_field(const std::string& line);

}  // namespace vitnt::io
