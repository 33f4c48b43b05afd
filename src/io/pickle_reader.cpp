#include "io/pickle_reader.h"

#include <cstdio>
#include <unordered_map>

#include "vitnt/vitnt.h"

namespace vitnt::io {

namespace {

using Kind = PickleValue::Kind;

// Every opcode of protocols 0-5, for messages: a refused opcode is named, not just numbered.
const char* opcode_name(uint8_t op) {
  static const struct {
    uint8_t op;
    const char* name;
  } kNames[] = {
      // clang-format off
      {'(', "MARK"}, {'.', "STOP"}, {'0', "POP"}, {'1', "POP_MARK"}, {'2', "DUP"}, {'F', "FLOAT"},
      {'I', "INT"}, {'J', "BININT"}, {'K', "BININT1"}, {'L', "LONG"}, {'M', "BININT2"},
      {'N', "NONE"}, {'P', "PERSID"}, {'Q', "BINPERSID"}, {'R', "REDUCE"}, {'S', "STRING"},
      {'T', "BINSTRING"}, {'U', "SHORT_BINSTRING"}, {'V', "UNICODE"}, {'X', "BINUNICODE"},
      {'a', "APPEND"}, {'b', "BUILD"}, {'c', "GLOBAL"}, {'d', "DICT"}, {'}', "EMPTY_DICT"},
      {'e', "APPENDS"}, {'g', "GET"}, {'h', "BINGET"}, {'i', "INST"}, {'j', "LONG_BINGET"},
      {'l', "LIST"}, {']', "EMPTY_LIST"}, {'o', "OBJ"}, {'p', "PUT"}, {'q', "BINPUT"},
      {'r', "LONG_BINPUT"}, {'s', "SETITEM"}, {'t', "TUPLE"}, {')', "EMPTY_TUPLE"},
      {'u', "SETITEMS"}, {'G', "BINFLOAT"}, {'B', "BINBYTES"}, {'C', "SHORT_BINBYTES"},
      {0x80, "PROTO"}, {0x81, "NEWOBJ"}, {0x82, "EXT1"}, {0x83, "EXT2"}, {0x84, "EXT4"},
      {0x85, "TUPLE1"}, {0x86, "TUPLE2"}, {0x87, "TUPLE3"}, {0x88, "NEWTRUE"}, {0x89, "NEWFALSE"},
      {0x8a, "LONG1"}, {0x8b, "LONG4"}, {0x8c, "SHORT_BINUNICODE"}, {0x8d, "BINUNICODE8"},
      {0x8e, "BINBYTES8"}, {0x8f, "EMPTY_SET"}, {0x90, "ADDITEMS"}, {0x91, "FROZENSET"},
      {0x92, "NEWOBJ_EX"}, {0x93, "STACK_GLOBAL"}, {0x94, "MEMOIZE"}, {0x95, "FRAME"},
      {0x96, "BYTEARRAY8"}, {0x97, "NEXT_BUFFER"}, {0x98, "READONLY_BUFFER"},
      // clang-format on
  };
  for (const auto& n : kNames)
    if (n.op == op) return n.name;
  return nullptr;
}

// The globals these files name, under their numpy 1.x and 2.x module names.
const char* allowed_global(const std::string& module, const std::string& name) {
  const bool multiarray = module == "numpy.core.multiarray" || module == "numpy._core.multiarray";
  if (multiarray && name == "_reconstruct") return "_reconstruct";
  if (multiarray && name == "scalar") return "scalar";
  if (module == "numpy" && name == "ndarray") return "ndarray";
  if (module == "numpy" && name == "dtype") return "dtype";
  if (module == "_codecs" && name == "encode") return "encode";
  return nullptr;
}

class Reader {
 public:
  Reader(std::string_view b, const std::string& origin)
      : b_(b), origin_(origin), budget_(b.size()) {}

  PickleRef run() {
    while (true) {
      if (pos_ >= b_.size()) fail(pos_, "the file ends before the STOP opcode (truncated?)");
      op_pos_ = pos_;
      const uint8_t op = static_cast<uint8_t>(b_[pos_++]);
      if (op == '.') {
        if (stack_.size() != 1 || !marks_.empty())
          fail_op(op, "malformed pickle (stack not 1 deep)");
        return stack_.back();
      }
      step(op);
    }
  }

 private:
  [[noreturn]] void fail(size_t at, const std::string& msg) const {
    throw Error(origin_ + ": offset " + std::to_string(at) + ": " + msg);
  }
  [[noreturn]] void fail_op(uint8_t op, const std::string& msg) const {
    const char* name = opcode_name(op);
    char hex[8];
    std::snprintf(hex, sizeof hex, "0x%02x", op);
    fail(op_pos_, std::string("opcode ") + (name ? name : "unknown") + " (" + hex + "): " + msg);
  }

  // Reads n bytes; a length that runs past the end of the file is an error, before any
  // allocation.
  std::string_view take(uint8_t op, uint64_t n) {
    if (n > b_.size() - pos_)
      fail_op(op, "declares " + std::to_string(n) + " bytes but only " +
                      std::to_string(b_.size() - pos_) + " remain in the file");
    std::string_view s = b_.substr(pos_, n);
    pos_ += n;
    return s;
  }
  uint64_t uint_le(uint8_t op, int n) {
    std::string_view s = take(op, n);
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; --i) v = v << 8 | static_cast<uint8_t>(s[i]);
    return v;
  }

  static PickleRef make(Kind k) {
    auto v = std::make_shared<PickleValue>();
    v->kind = k;
    return v;
  }
  PickleRef bytes_value(Kind k, std::string_view s) {
    PickleRef v = make(k);
    v->data = std::make_shared<const std::string>(s);
    return v;
  }
  void push(PickleRef v) { stack_.push_back(std::move(v)); }
  PickleRef pop(uint8_t op) {
    if (stack_.size() <= (marks_.empty() ? 0 : marks_.back())) fail_op(op, "the stack is empty");
    PickleRef v = std::move(stack_.back());
    stack_.pop_back();
    return v;
  }
  // The items above the last MARK, which is removed.
  std::vector<PickleRef> pop_mark(uint8_t op) {
    if (marks_.empty()) fail_op(op, "no MARK before it");
    std::vector<PickleRef> items(stack_.begin() + marks_.back(), stack_.end());
    stack_.resize(marks_.back());
    marks_.pop_back();
    return items;
  }
  // `item` goes into a new or growing container of depth `depth`; returns the new depth.
  int adopt(uint8_t op, PickleValue& item, int depth) {
    if (item.depth + 1 > kMaxPickleDepth)
      fail_op(op, "nesting deeper than " + std::to_string(kMaxPickleDepth) + " levels");
    item.contained = true;
    return std::max(depth, item.depth + 1);
  }
  PickleRef tuple(uint8_t op, std::vector<PickleRef> items) {
    PickleRef t = make(Kind::Tuple);
    for (PickleRef& it : items) t->depth = adopt(op, *it, t->depth);
    t->items = std::move(items);
    return t;
  }
  void append(uint8_t op, PickleValue& list, std::vector<PickleRef> items) {
    if (list.kind != Kind::List) fail_op(op, std::string("appends to a ") + to_string(list.kind));
    if (list.contained)
      fail_op(op, "appends to a list that is already inside another container (not supported)");
    for (PickleRef& it : items) {
      if (it.get() == &list) fail_op(op, "a list that contains itself (not supported)");
      list.depth = adopt(op, *it, list.depth);
      list.items.push_back(std::move(it));
    }
  }
  void memo_put(uint8_t op, uint64_t key) {
    if (stack_.empty()) fail_op(op, "the stack is empty");
    memo_[key] = stack_.back();
  }
  void memo_get(uint8_t op, uint64_t key) {
    auto it = memo_.find(key);
    if (it == memo_.end()) fail_op(op, "memo entry " + std::to_string(key) + " was never stored");
    push(it->second);
  }

  void global(uint8_t op, const std::string& module, const std::string& name) {
    const char* g = allowed_global(module, name);
    if (!g)
      fail_op(op, "refused global '" + module + "." + name +
                      "' (only numpy arrays, bytes and lists are read; nothing is executed)");
    PickleRef v = make(Kind::Global);
    v->name = g;
    push(v);
  }
  static bool is_text(const PickleValue& v) { return v.kind == Kind::Str || v.kind == Kind::Bytes; }
  static bool is_flag(const PickleValue& v) { return v.kind == Kind::Bool || v.kind == Kind::Int; }

  // The only calls: the fixed patterns numpy and Python 3 write (see the header).
  PickleRef reduce(uint8_t op, const PickleValue& f, const PickleValue& args) {
    const std::vector<PickleRef>& a = args.items;
    if (f.kind != Kind::Global || args.kind != Kind::Tuple)
      fail_op(op, std::string("refused call of a ") + to_string(f.kind));
    if (f.name == "_reconstruct") {
      if (a.size() != 3 || a[0]->kind != Kind::Global || a[0]->name != "ndarray")
        fail_op(op, "numpy _reconstruct with arguments other than (ndarray, shape, b'b')");
      return make(Kind::Array);
    }
    if (f.name == "dtype") {
      if (a.size() != 3 || !is_text(*a[0]) || !is_flag(*a[1]) || !is_flag(*a[2]))
        fail_op(op, "numpy dtype with arguments other than (name, align, copy)");
      const std::string& n = *a[0]->data;
      if (n != "u1" && n != "b1")
        fail_op(op, "numpy dtype '" + n + "' refused (only uint8 'u1' and bool 'b1' arrays)");
      PickleRef d = make(Kind::Dtype);
      d->name = n;
      return d;
    }
    if (f.name == "scalar") {
      if (a.size() != 2 || a[0]->kind != Kind::Dtype || a[1]->kind != Kind::Bytes ||
          a[1]->data->size() != 1)
        fail_op(op, "numpy scalar with arguments other than (u1|b1 dtype, 1 byte)");
      PickleRef s = make(a[0]->name == "b1" ? Kind::Bool : Kind::Int);
      s->number = static_cast<uint8_t>((*a[1]->data)[0]);
      if (s->kind == Kind::Bool) s->number = s->number != 0;
      return s;
    }
    if (f.name == "encode") {  // Python 3 bytes at protocol < 3: latin-1 text of the bytes
      if (a.size() != 2 || a[0]->kind != Kind::Str || a[1]->kind != Kind::Str ||
          *a[1]->data != "latin1")
        fail_op(op, "_codecs.encode with arguments other than (str, 'latin1')");
      const std::string& u = *a[0]->data;
      if (u.size() > budget_) fail_op(op, "the file makes more bytes than it holds");
      budget_ -= u.size();
      std::string out;
      out.reserve(u.size());
      for (size_t i = 0; i < u.size(); ++i) {  // UTF-8 of code points < 256
        const uint8_t c = static_cast<uint8_t>(u[i]);
        if (c < 0x80) {
          out += static_cast<char>(c);
        } else if ((c == 0xc2 || c == 0xc3) && i + 1 < u.size() &&
                   (static_cast<uint8_t>(u[i + 1]) & 0xc0) == 0x80) {
          out += static_cast<char>((c & 0x03) << 6 | (static_cast<uint8_t>(u[++i]) & 0x3f));
        } else {
          fail_op(op, "_codecs.encode of a string that is not latin-1");
        }
      }
      PickleRef v = make(Kind::Bytes);
      v->data = std::make_shared<const std::string>(std::move(out));
      return v;
    }
    fail_op(op, "refused call of " + f.name);
  }

  void build(uint8_t op, PickleValue& obj, const PickleValue& state) {
    if (obj.kind == Kind::Dtype && state.kind == Kind::Tuple) return;  // byte order: 1-byte types
    if (obj.kind != Kind::Array || obj.built || state.kind != Kind::Tuple)
      fail_op(op, std::string("refused BUILD of a ") + to_string(obj.kind));
    const std::vector<PickleRef>& s = state.items;
    if (s.size() != 5 || s[0]->kind != Kind::Int || s[1]->kind != Kind::Tuple ||
        s[2]->kind != Kind::Dtype || !is_flag(*s[3]) || s[4]->kind != Kind::Bytes)
      fail_op(op, "numpy array state is not (version, shape, dtype, fortran, bytes)");
    uint64_t n = 1;
    for (const PickleRef& d : s[1]->items) {
      if (d->kind != Kind::Int || d->number < 0) fail_op(op, "numpy array shape is not ints >= 0");
      if (d->number != 0 && n > UINT64_MAX / static_cast<uint64_t>(d->number))
        fail_op(op, "numpy array shape overflows");
      n *= static_cast<uint64_t>(d->number);
      obj.shape.push_back(d->number);
    }
    if (n != s[4]->data->size())
      fail_op(op, "numpy array of " + std::to_string(n) + " elements has " +
                      std::to_string(s[4]->data->size()) + " bytes of data");
    obj.name = s[2]->name;
    obj.data = s[4]->data;  // shared, not copied
    obj.built = true;
  }

  void step(uint8_t op) {
    switch (op) {
      case 0x80: {  // PROTO
        const uint64_t v = uint_le(op, 1);
        if (v < 2 || v > 5) fail_op(op, "protocol " + std::to_string(v) + " (2 to 5 are read)");
        return;
      }
      case 0x95:  // FRAME: the length of the opcodes that follow (read as they come)
        if (uint_le(op, 8) > b_.size() - pos_)
          fail_op(op, "a frame longer than the rest of the file");
        return;
      case '(':
        marks_.push_back(stack_.size());
        return;
      case 'N':
        push(make(Kind::None));
        return;
      case 0x88:
      case 0x89: {
        PickleRef v = make(Kind::Bool);
        v->number = op == 0x88;
        push(v);
        return;
      }
      case 'K':
      case 'M':
      case 'J': {
        PickleRef v = make(Kind::Int);
        const uint64_t u = uint_le(op, op == 'K' ? 1 : op == 'M' ? 2 : 4);
        v->number = op == 'J' ? static_cast<int32_t>(u) : static_cast<int64_t>(u);
        push(v);
        return;
      }
      case 0x8a: {  // LONG1: n-byte two's complement
        const uint64_t n = uint_le(op, 1);
        if (n > 8) fail_op(op, "an integer of " + std::to_string(n) + " bytes (at most 8)");
        uint64_t u = n ? uint_le(op, static_cast<int>(n)) : 0;
        if (n && n < 8 && (u >> (8 * n - 1)) & 1) u |= ~uint64_t{0} << (8 * n);
        PickleRef v = make(Kind::Int);
        v->number = static_cast<int64_t>(u);
        push(v);
        return;
      }
      case 'C':
        push(bytes_value(Kind::Bytes, take(op, uint_le(op, 1))));
        return;
      case 'B':
        push(bytes_value(Kind::Bytes, take(op, uint_le(op, 4))));
        return;
      case 0x8e:
        push(bytes_value(Kind::Bytes, take(op, uint_le(op, 8))));
        return;
      case 'U':  // SHORT_BINSTRING and BINSTRING: Python 2 str, i.e. bytes
        push(bytes_value(Kind::Bytes, take(op, uint_le(op, 1))));
        return;
      case 'T': {
        const int32_t n = static_cast<int32_t>(uint_le(op, 4));
        if (n < 0) fail_op(op, "a negative length");
        push(bytes_value(Kind::Bytes, take(op, static_cast<uint64_t>(n))));
        return;
      }
      case 0x8c:
        push(bytes_value(Kind::Str, take(op, uint_le(op, 1))));
        return;
      case 'X':
        push(bytes_value(Kind::Str, take(op, uint_le(op, 4))));
        return;
      case 0x8d:
        push(bytes_value(Kind::Str, take(op, uint_le(op, 8))));
        return;
      case ']':
        push(make(Kind::List));
        return;
      case ')':
        push(make(Kind::Tuple));
        return;
      case 'a': {
        PickleRef item = pop(op);
        if (stack_.size() <= (marks_.empty() ? 0 : marks_.back())) fail_op(op, "no list");
        append(op, *stack_.back(), {std::move(item)});
        return;
      }
      case 'e': {
        std::vector<PickleRef> items = pop_mark(op);
        if (stack_.size() <= (marks_.empty() ? 0 : marks_.back())) fail_op(op, "no list");
        append(op, *stack_.back(), std::move(items));
        return;
      }
      case 't':
        push(tuple(op, pop_mark(op)));
        return;
      case 0x85:
      case 0x86:
      case 0x87: {
        const size_t n = op - 0x84;
        std::vector<PickleRef> items(n);
        for (size_t i = n; i-- > 0;) items[i] = pop(op);
        push(tuple(op, std::move(items)));
        return;
      }
      case 'q':
        memo_put(op, uint_le(op, 1));
        return;
      case 'r':
        memo_put(op, uint_le(op, 4));
        return;
      case 0x94:
        memo_put(op, memo_.size());
        return;
      case 'h':
        memo_get(op, uint_le(op, 1));
        return;
      case 'j':
        memo_get(op, uint_le(op, 4));
        return;
      case 'c': {  // GLOBAL "module\nname\n"
        auto line = [&] {
          const size_t end = b_.find('\n', pos_);
          if (end == std::string_view::npos || end - pos_ > 256)
            fail_op(op, "no newline-terminated name");
          std::string s(b_.substr(pos_, end - pos_));
          pos_ = end + 1;
          return s;
        };
        const std::string module = line();
        global(op, module, line());
        return;
      }
      case 0x93: {  // STACK_GLOBAL: module and name from the stack
        PickleRef name = pop(op), module = pop(op);
        if (module->kind != Kind::Str || name->kind != Kind::Str)
          fail_op(op, "module and name are not strings");
        global(op, *module->data, *name->data);
        return;
      }
      case 'R': {
        PickleRef args = pop(op), f = pop(op);
        push(reduce(op, *f, *args));
        return;
      }
      case 'b': {
        PickleRef state = pop(op);
        if (stack_.size() <= (marks_.empty() ? 0 : marks_.back())) fail_op(op, "no object");
        build(op, *stack_.back(), *state);
        return;
      }
      default:
        fail_op(op, "not supported (this reader knows only the opcodes of data files)");
    }
  }

  std::string_view b_;
  const std::string& origin_;
  size_t pos_ = 0, op_pos_ = 0;
  size_t budget_;  // bytes calls may still make
  std::vector<PickleRef> stack_;
  std::vector<size_t> marks_;  // stack sizes at each MARK
  std::unordered_map<uint64_t, PickleRef> memo_;
};

}  // namespace

const char* to_string(PickleValue::Kind k) {
  switch (k) {
    case Kind::None:
      return "None";
    case Kind::Bool:
      return "bool";
    case Kind::Int:
      return "int";
    case Kind::Bytes:
      return "bytes";
    case Kind::Str:
      return "str";
    case Kind::List:
      return "list";
    case Kind::Tuple:
      return "tuple";
    case Kind::Array:
      return "numpy array";
    case Kind::Global:
      return "global";
    case Kind::Dtype:
      return "numpy dtype";
  }
  return "?";
}

PickleRef read_pickle(std::string_view bytes, const std::string& origin) {
  return Reader(bytes, origin).run();
}

}  // namespace vitnt::io
