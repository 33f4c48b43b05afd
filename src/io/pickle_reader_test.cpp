#include "io/pickle_reader.h"

#include <gtest/gtest.h>

#include "vitnt/vitnt.h"

namespace vitnt::io {
namespace {

using Kind = PickleValue::Kind;

template <size_t N>
std::string bytes(const char (&s)[N]) {
  return std::string(s, N - 1);
}

// pickle.dumps(([np.arange(12, dtype=np.uint8).reshape(2, 2, 3),
//               np.frombuffer(b'\xff\xd8ab', np.uint8)], [True, False]), protocol=P)
// by Debian 12's Python 3.11 + numpy 1.24: P = 2 (bytes as _codecs.encode, GLOBAL) and
// P = 4 (FRAME, MEMOIZE, STACK_GLOBAL, SHORT_BINBYTES).
const std::string kNumpyP2 = bytes(
    "\x80\x02\x5d\x71\x00\x28\x63\x6e\x75\x6d\x70\x79\x2e\x63\x6f\x72\x65\x2e\x6d\x75\x6c\x74\x69"
    "\x61\x72\x72\x61\x79\x0a\x5f\x72\x65\x63\x6f\x6e\x73\x74\x72\x75\x63\x74\x0a\x71\x01\x63\x6e"
    "\x75\x6d\x70\x79\x0a\x6e\x64\x61\x72\x72\x61\x79\x0a\x71\x02\x4b\x00\x85\x71\x03\x63\x5f\x63"
    "\x6f\x64\x65\x63\x73\x0a\x65\x6e\x63\x6f\x64\x65\x0a\x71\x04\x58\x01\x00\x00\x00\x62\x71\x05"
    "\x58\x06\x00\x00\x00\x6c\x61\x74\x69\x6e\x31\x71\x06\x86\x71\x07\x52\x71\x08\x87\x71\x09\x52"
    "\x71\x0a\x28\x4b\x01\x4b\x02\x4b\x02\x4b\x03\x87\x71\x0b\x63\x6e\x75\x6d\x70\x79\x0a\x64\x74"
    "\x79\x70\x65\x0a\x71\x0c\x58\x02\x00\x00\x00\x75\x31\x71\x0d\x89\x88\x87\x71\x0e\x52\x71\x0f"
    "\x28\x4b\x03\x58\x01\x00\x00\x00\x7c\x71\x10\x4e\x4e\x4e\x4a\xff\xff\xff\xff\x4a\xff\xff\xff"
    "\xff\x4b\x00\x74\x71\x11\x62\x89\x68\x04\x58\x0c\x00\x00\x00\x00\x01\x02\x03\x04\x05\x06\x07"
    "\x08\x09\x0a\x0b\x71\x12\x68\x06\x86\x71\x13\x52\x71\x14\x74\x71\x15\x62\x68\x01\x68\x02\x4b"
    "\x00\x85\x71\x16\x68\x08\x87\x71\x17\x52\x71\x18\x28\x4b\x01\x4b\x04\x85\x71\x19\x68\x0f\x89"
    "\x68\x04\x58\x06\x00\x00\x00\xc3\xbf\xc3\x98\x61\x62\x71\x1a\x68\x06\x86\x71\x1b\x52\x71\x1c"
    "\x74\x71\x1d\x62\x65\x5d\x71\x1e\x28\x88\x89\x65\x86\x71\x1f\x2e");
const std::string kNumpyP4 = bytes(
    "\x80\x04\x95\xc6\x00\x00\x00\x00\x00\x00\x00\x5d\x94\x28\x8c\x15\x6e\x75\x6d\x70\x79\x2e\x63"
    "\x6f\x72\x65\x2e\x6d\x75\x6c\x74\x69\x61\x72\x72\x61\x79\x94\x8c\x0c\x5f\x72\x65\x63\x6f\x6e"
    "\x73\x74\x72\x75\x63\x74\x94\x93\x94\x8c\x05\x6e\x75\x6d\x70\x79\x94\x8c\x07\x6e\x64\x61\x72"
    "\x72\x61\x79\x94\x93\x94\x4b\x00\x85\x94\x43\x01\x62\x94\x87\x94\x52\x94\x28\x4b\x01\x4b\x02"
    "\x4b\x02\x4b\x03\x87\x94\x68\x04\x8c\x05\x64\x74\x79\x70\x65\x94\x93\x94\x8c\x02\x75\x31\x94"
    "\x89\x88\x87\x94\x52\x94\x28\x4b\x03\x8c\x01\x7c\x94\x4e\x4e\x4e\x4a\xff\xff\xff\xff\x4a\xff"
    "\xff\xff\xff\x4b\x00\x74\x94\x62\x89\x43\x0c\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b"
    "\x94\x74\x94\x62\x68\x03\x68\x06\x4b\x00\x85\x94\x68\x08\x87\x94\x52\x94\x28\x4b\x01\x4b\x04"
    "\x85\x94\x68\x10\x89\x43\x04\xff\xd8\x61\x62\x94\x74\x94\x62\x65\x5d\x94\x28\x88\x89\x65\x86"
    "\x94\x2e");

std::string error_of(const std::string& b) {
  try {
    read_pickle(b, "t.bin");
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(PickleReader, NumpyArraysAtProtocols2And4) {
  for (const std::string* b : {&kNumpyP2, &kNumpyP4}) {
    PickleRef top = read_pickle(*b, "t.bin");
    ASSERT_EQ(top->kind, Kind::Tuple);
    ASSERT_EQ(top->items.size(), 2u);
    const PickleValue& arrays = *top->items[0];
    ASSERT_EQ(arrays.kind, Kind::List);
    ASSERT_EQ(arrays.items.size(), 2u);
    const PickleValue& a = *arrays.items[0];
    EXPECT_EQ(a.kind, Kind::Array);
    EXPECT_TRUE(a.built);
    EXPECT_EQ(a.name, "u1");
    EXPECT_EQ(a.shape, (std::vector<int64_t>{2, 2, 3}));
    ASSERT_EQ(a.data->size(), 12u);
    for (int i = 0; i < 12; ++i) EXPECT_EQ((*a.data)[i], i);
    EXPECT_EQ(arrays.items[1]->shape, std::vector<int64_t>{4});
    EXPECT_EQ(*arrays.items[1]->data,
              "\xff\xd8"
              "ab");  // latin-1 round trip at protocol 2
    const PickleValue& same = *top->items[1];
    ASSERT_EQ(same.items.size(), 2u);
    EXPECT_EQ(same.items[0]->kind, Kind::Bool);
    EXPECT_EQ(same.items[0]->number, 1);
    EXPECT_EQ(same.items[1]->number, 0);
  }
}

TEST(PickleReader, PlainData) {
  // ([b'ab', b'ab', 'x', -2, 70000, None], (True,)) with SHORT_BINBYTES, MEMOIZE + BINGET,
  // SHORT_BINUNICODE, BININT, LONG1, APPENDS, TUPLE and TUPLE2
  const std::string b = bytes(
      "\x80\x04]\x94(C\x02"
      "ab\x94h\x01\x8c\x01xJ\xfe\xff\xff\xff\x8a\x03\x70\x11\x01Ne(\x88t"
      "\x86.");
  PickleRef top = read_pickle(b, "t.bin");
  ASSERT_EQ(top->items.size(), 2u);
  const PickleValue& l = *top->items[0];
  ASSERT_EQ(l.items.size(), 6u);
  EXPECT_EQ(*l.items[0]->data, "ab");
  EXPECT_EQ(l.items[1], l.items[0]);  // the same object, from the memo
  EXPECT_EQ(l.items[2]->kind, Kind::Str);
  EXPECT_EQ(*l.items[2]->data, "x");
  EXPECT_EQ(l.items[3]->number, -2);
  EXPECT_EQ(l.items[4]->number, 70000);
  EXPECT_EQ(l.items[5]->kind, Kind::None);
  ASSERT_EQ(top->items[1]->kind, Kind::Tuple);
  EXPECT_EQ(top->items[1]->items[0]->kind, Kind::Bool);
}

TEST(PickleReader, RefusesCallsAndObjects) {
  struct Case {
    std::string bytes, expect;
  };
  const std::vector<Case> cases = {
      // pickle of an object whose __reduce__ is (os.system, ("touch MARKER",)), protocol 2
      {bytes("\x80\x02"
             "cposix\nsystem\nq\x00X\x0c\x00\x00\x00touch MARKERq\x01\x85q\x02Rq\x03."),
       "offset 2: opcode GLOBAL (0x63): refused global 'posix.system'"},
      {bytes("\x80\x04\x8c\x02os\x8c\x06system\x93."),
       "offset 14: opcode STACK_GLOBAL (0x93): "
       "refused global 'os.system'"},
      {bytes("\x80\x02(ios\nsystem\n."), "opcode INST (0x69): not supported"},
      {bytes("\x80\x02(o."), "opcode OBJ (0x6f): not supported"},
      {bytes("\x80\x02]]b."), "offset 4: opcode BUILD (0x62): refused BUILD of a list"},
      {bytes("\x80\x02]))R."), "opcode REDUCE (0x52): refused call of a tuple"},
      {bytes("\x80\x02}."), "opcode EMPTY_DICT (0x7d): not supported"},
      {bytes("\x80\x02\x81."), "opcode NEWOBJ (0x81): not supported"},
      {bytes("\x80\x02\xff."), "opcode unknown (0xff)"},
      {bytes("\x80\x02"
             "cnumpy\ndtype\nX\x02\x00\x00\x00O8\x89\x88\x87R."),
       "numpy dtype 'O8' refused"},
      {bytes("\x80\x02"
             "cnumpy\nndarray\n)R."),
       "refused call of ndarray"},
      {bytes("\x80\x01N."), "protocol 1"},
  };
  for (const Case& c : cases) {
    const std::string e = error_of(c.bytes);
    EXPECT_NE(e.find("t.bin: "), std::string::npos) << e;
    EXPECT_NE(e.find(c.expect), std::string::npos) << "got: " << e << "\nexpected: " << c.expect;
  }
}

TEST(PickleReader, OversizedLengthsFailBeforeAllocating) {
  for (const std::string& b :
       {bytes("\x80\x03"
              "B\xff\xff\xff\xffxx."),
        bytes("\x80\x04\x8e\xff\xff\xff\xff\xff\xff\xff\x7f."),
        bytes("\x80\x04\x8d\x00\x00\x00\x00\x00\x00\x00\x80."), bytes("\x80\x02T\xff\xff\xff\x7f."),
        bytes("\x80\x04\x95\x00\x00\x00\x00\x01\x00\x00\x00N.")}) {
    const std::string e = error_of(b);
    EXPECT_TRUE(e.find("remain in the file") != std::string::npos ||
                e.find("longer than the rest") != std::string::npos)
        << e;
  }
  EXPECT_NE(error_of(bytes("\x80\x02T\xff\xff\xff\xff.")).find("negative length"),
            std::string::npos);
}

TEST(PickleReader, MalformedStructures) {
  EXPECT_NE(error_of(bytes("\x80\x02h\x05.")).find("memo entry 5 was never stored"),
            std::string::npos);
  EXPECT_NE(error_of(bytes("\x80\x02"
                           "a."))
                .find("stack is empty"),
            std::string::npos);
  EXPECT_NE(error_of(bytes("\x80\x02"
                           "e."))
                .find("no MARK"),
            std::string::npos);
  EXPECT_NE(error_of(bytes("\x80\x02NN.")).find("stack not 1 deep"), std::string::npos);
  // a list appended to itself, and an append to a list already inside a tuple
  EXPECT_NE(error_of(bytes("\x80\x02]q\x00h\x00"
                           "a."))
                .find("contains itself"),
            std::string::npos);
  EXPECT_NE(error_of(bytes("\x80\x02]q\x00\x85h\x00Na.")).find("already inside"),
            std::string::npos);
  // nesting: [[[[...]]]] 40 deep
  std::string deep = "\x80\x02";
  for (int i = 0; i < 40; ++i) deep += "]";
  for (int i = 0; i < 39; ++i) deep += "a";
  deep += ".";
  EXPECT_NE(error_of(deep).find("nesting deeper than 32"), std::string::npos);
  // an array whose shape does not match its data
  std::string bad = kNumpyP4;
  bad[bad.find("\x4b\x02\x4b\x02\x4b\x03") + 1] = 3;  // shape (3, 2, 3) for 12 bytes
  EXPECT_NE(error_of(bad).find("numpy array of 18 elements has 12 bytes"), std::string::npos);
}

// Every prefix of a valid file, and every single-byte change of it, fails with an Error
// (or parses) -- never a crash, hang or huge allocation.
TEST(PickleReader, EveryTruncationAndByteFlipFailsCleanly) {
  for (const std::string* b : {&kNumpyP2, &kNumpyP4}) {
    for (size_t n = 0; n < b->size(); ++n) {
      const std::string e = error_of(b->substr(0, n));
      EXPECT_NE(e.find("t.bin: offset "), std::string::npos) << "prefix " << n << ": " << e;
    }
    for (size_t i = 0; i < b->size(); ++i)
      for (int v : {0x00, 0x01, 0x7f, 0x80, 0xff, (*b)[i] ^ 0x01}) {
        std::string c = *b;
        c[i] = static_cast<char>(v);
        try {
          read_pickle(c, "t.bin");
        } catch (const Error&) {
        }
      }
  }
}

}  // namespace
}  // namespace vitnt::io
