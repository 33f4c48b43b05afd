// A reader of Python pickles that never runs anything. It knows the data opcodes that
// nested lists and tuples of bytes, strings, numbers and bools need (protocols 2-5, as
// Python 2 and 3 write them) and, as fixed patterns, the few calls such files contain:
// numpy.core.multiarray._reconstruct + BUILD of a 1-byte-per-element array
// (dtype u1 or b1), numpy.core.multiarray.scalar of such a dtype, and _codecs.encode(s,
// 'latin1') (how Python 3 writes bytes at protocol 2). Any other global, call or opcode
// is refused with an Error naming the file, the opcode and its byte offset.
//
// Limits that make hostile files fail cleanly: every declared length is checked against
// the bytes that remain; nesting is at most kMaxDepth; bytes made by calls are bounded by
// the file's size; a list cannot be appended to once it is inside another container
// (no cycles, exact depths).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace vitnt::io {

struct PickleValue;
using PickleRef = std::shared_ptr<PickleValue>;

struct PickleValue {
  enum class Kind { None, Bool, Int, Bytes, Str, List, Tuple, Array, Global, Dtype };
  Kind kind = Kind::None;
  int64_t number = 0;                       // Bool (0/1), Int
  std::shared_ptr<const std::string> data;  // Bytes, Array (raw elements); Str (UTF-8)
  std::string name;                         // Global "module.name"; Dtype and Array: "u1"|"b1"
  std::vector<PickleRef> items;             // List, Tuple
  std::vector<int64_t> shape;               // Array (empty until BUILD gives it its state)
  bool built = false;                       // Array: state set
  bool contained = false;                   // List: inside another container (no more appends)
  int depth = 1;                            // nesting: 1 + the deepest item
};

constexpr int kMaxPickleDepth = 32;

// The object `bytes` (a whole pickle) encodes. `origin` (the file) starts every message.
PickleRef read_pickle(std::string_view bytes, const std::string& origin);

const char* to_string(PickleValue::Kind k);

}  // namespace vitnt::io
