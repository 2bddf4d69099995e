// The NumPy reader against bytes the tests write by the format's rules (numpy.lib.format, and
// zip as np.savez writes it: stored members whose local headers carry ZIP64 sizes), every
// malformed case with its message, and mutated files that must parse or fail cleanly.
#include "greenai/util/npy.h"

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>

#include "greenai/error.h"

namespace greenai::util {
namespace {

constexpr int kFuzzCases = 3000;

std::vector<uint8_t> npy_bytes(const std::string& dict, const std::vector<uint8_t>& data,
                               int major = 1) {
  std::vector<uint8_t> b = {0x93, 'N', 'U', 'M', 'P', 'Y', static_cast<uint8_t>(major), 0};
  const size_t length_bytes = major == 1 ? 2 : 4;
  std::string header = dict;
  while ((b.size() + length_bytes + header.size() + 1) % 64) header += ' ';
  header += '\n';
  for (size_t i = 0; i < length_bytes; ++i)
    b.push_back(static_cast<uint8_t>(header.size() >> (8 * i)));
  b.insert(b.end(), header.begin(), header.end());
  b.insert(b.end(), data.begin(), data.end());
  return b;
}

template <typename T>
std::vector<uint8_t> raw(const std::vector<T>& values) {
  std::vector<uint8_t> b(values.size() * sizeof(T));
  std::memcpy(b.data(), values.data(), b.size());
  return b;
}

std::string dict(const std::string& descr, const std::string& shape, bool fortran = false) {
  return "{'descr': '" + descr + "', 'fortran_order': " + (fortran ? "True" : "False") +
         ", 'shape': " + shape + ", }";
}

uint32_t reference_crc(const std::vector<uint8_t>& d) {  // bit by bit, as the zip spec states it
  uint32_t c = 0xFFFFFFFF;
  for (uint8_t byte : d) {
    c ^= byte;
    for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1)));
  }
  return ~c;
}

void put(std::vector<uint8_t>& b, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) b.push_back(static_cast<uint8_t>(v >> (8 * i)));
}

// A zip of stored members as np.savez writes it (ZIP64 sizes in each local header).
std::vector<uint8_t> npz_bytes(const std::vector<std::pair<std::string, std::vector<uint8_t>>>& m,
                               uint16_t method = 0) {
  std::vector<uint8_t> zip, directory;
  for (const auto& [name, data] : m) {
    const uint64_t local = zip.size();
    const uint32_t crc = reference_crc(data);
    put(zip, 0x04034b50, 4);
    put(zip, 45, 2);
    put(zip, 0, 2);
    put(zip, method, 2);
    put(zip, 0, 4);
    put(zip, crc, 4);
    put(zip, 0xFFFFFFFF, 4);
    put(zip, 0xFFFFFFFF, 4);
    put(zip, name.size(), 2);
    put(zip, 20, 2);
    zip.insert(zip.end(), name.begin(), name.end());
    put(zip, 1, 2);
    put(zip, 16, 2);
    put(zip, data.size(), 8);
    put(zip, data.size(), 8);
    zip.insert(zip.end(), data.begin(), data.end());
    put(directory, 0x02014b50, 4);
    put(directory, 45, 2);
    put(directory, 45, 2);
    put(directory, 0, 2);
    put(directory, method, 2);
    put(directory, 0, 4);
    put(directory, crc, 4);
    put(directory, data.size(), 4);
    put(directory, data.size(), 4);
    put(directory, name.size(), 2);
    put(directory, 0, 2);
    put(directory, 0, 2);
    put(directory, 0, 2);
    put(directory, 0, 2);
    put(directory, 0, 4);
    put(directory, local, 4);
    directory.insert(directory.end(), name.begin(), name.end());
  }
  const uint64_t start = zip.size();
  zip.insert(zip.end(), directory.begin(), directory.end());
  put(zip, 0x06054b50, 4);
  put(zip, 0, 4);
  put(zip, m.size(), 2);
  put(zip, m.size(), 2);
  put(zip, directory.size(), 4);
  put(zip, start, 4);
  put(zip, 0, 2);
  return zip;
}

// The message of the greenai::Error that `f` throws ("" when it throws none).
template <typename F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(Npy, ReadsFloat32ImagesAndInt64Labels) {
  const std::vector<float> x = {0.0f, 0.5f, -1.25f, 3.0f, 1e-3f, 7.0f};
  const NpyArray a = parse_npy(npy_bytes(dict("<f4", "(2, 1, 1, 3)"), raw(x)), "x.npy");
  EXPECT_EQ(a.type, NpyType::kFloat32);
  EXPECT_EQ(a.shape, (std::vector<uint64_t>{2, 1, 1, 3}));
  EXPECT_EQ(a.to_float32(), x);
  const std::vector<int64_t> y = {3, 0, -2, 9};
  const NpyArray labels = parse_npy(npy_bytes(dict("<i8", "(4,)"), raw(y)), "y.npy");
  EXPECT_EQ(labels.to_int64(), y);
  EXPECT_EQ(labels.to_float32(), (std::vector<float>{3, 0, -2, 9}));
}

TEST(Npy, ReadsVersionsTwoAndThreeBigEndianAndNarrowTypes) {
  // Big-endian int32 1 and 258, in a version 2 file; version 3 with "double quotes".
  const NpyArray big =
      parse_npy(npy_bytes(dict(">i4", "(2,)"), {0, 0, 0, 1, 0, 0, 1, 2}, 2), "big.npy");
  EXPECT_EQ(big.to_int64(), (std::vector<int64_t>{1, 258}));
  const NpyArray v3 = parse_npy(
      npy_bytes("{\"descr\": \"|u1\", \"shape\": (3,), \"fortran_order\": False}", {0, 7, 255}, 3),
      "v3.npy");
  EXPECT_EQ(v3.to_int64(), (std::vector<int64_t>{0, 7, 255}));
  const NpyArray f64 =
      parse_npy(npy_bytes(dict("<f8", "(2,)"), raw(std::vector<double>{0.25, -4})), "f64.npy");
  EXPECT_EQ(f64.to_float32(), (std::vector<float>{0.25f, -4.0f}));
  const NpyArray flags = parse_npy(npy_bytes(dict("|b1", "(2,)"), {1, 0}), "b.npy");
  EXPECT_EQ(flags.to_int64(), (std::vector<int64_t>{1, 0}));
}

TEST(Npy, ZeroDimensionalAndEmptyArrays) {
  const NpyArray scalar =
      parse_npy(npy_bytes(dict("<f4", "()"), raw(std::vector<float>{2.5f})), "s.npy");
  EXPECT_TRUE(scalar.shape.empty());
  EXPECT_EQ(scalar.to_float32(), std::vector<float>{2.5f});
  const NpyArray empty = parse_npy(npy_bytes(dict("<f4", "(0, 28, 28)"), {}), "e.npy");
  EXPECT_EQ(empty.elements(), 0u);
}

TEST(Npy, EachMalformedFileIsRefusedWithWhatIsWrong) {
  const auto four = raw(std::vector<float>{1, 2, 3, 4});
  std::vector<uint8_t> truncated_header = npy_bytes(dict("<f4", "(4,)"), four);
  truncated_header.resize(40);
  const std::vector<std::pair<std::vector<uint8_t>, std::string>> cases{
      {{'P', 'K', 3, 4, 0, 0, 0, 0, 0, 0, 0}, "no \\x93NUMPY magic"},
      {npy_bytes(dict("<f4", "(4,)"), four, 4), "format version 4.0 is not 1, 2 or 3"},
      {truncated_header, "ends inside its header"},
      {npy_bytes(dict("<c8", "(4,)"), four), "dtype '<c8' is not one read here"},
      {npy_bytes("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }", four),
       "structured"},
      {npy_bytes(dict("<f4", "(2, 2)", true), four), "Fortran (column-major) order"},
      {npy_bytes(dict("<f4", "(5,)"), four),
       "16 data bytes where its shape and dtype say 20 (truncated)"},
      {npy_bytes(dict("<f4", "(3,)"), four), "16 data bytes where its shape and dtype say 12"},
      {npy_bytes(dict("<f4", "(99999999999, 99999999999)"), four), "more than"},
      {npy_bytes(dict("<f4", "(-4,)"), four), "not a tuple of non-negative integers"},
      {npy_bytes("{'descr': '<f4', 'shape': (4,), }", four), "lacks descr, fortran_order or shape"},
      {npy_bytes("{'descr': '<f4', 'fortran_order': Maybe, 'shape': (4,), }", four),
       "neither True nor False"},
      {npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (4,), 'x': 1}", four),
       "unknown key 'x'"},
      {npy_bytes("{'descr': '<f4 'fortran_order': False, 'shape': (4,)}", four), "malformed"},
  };
  for (const auto& [bytes, expected] : cases) {
    const std::string message = error_of([&] { parse_npy(bytes, "bad.npy"); });
    EXPECT_NE(message.find("cannot read NumPy array (path=bad.npy)"), std::string::npos) << message;
    EXPECT_NE(message.find(expected), std::string::npos) << message << " / " << expected;
  }
}

TEST(Npy, IntegersAreRefusedFromFloatsAndAboveInt64) {
  const NpyArray f = parse_npy(npy_bytes(dict("<f4", "(1,)"), raw(std::vector<float>{1})), "f");
  EXPECT_NE(error_of([&] { f.to_int64(); }).find("floating-point"), std::string::npos);
  const NpyArray big =
      parse_npy(npy_bytes(dict("<u8", "(1,)"), raw(std::vector<uint64_t>{1ULL << 63})), "u");
  EXPECT_NE(error_of([&] { big.to_int64(); }).find("above the int64 range"), std::string::npos);
}

TEST(Npz, ReadsStoredMembersByNameAsNpSavezWritesThem) {
  const auto x = npy_bytes(dict("<f4", "(2, 2)"), raw(std::vector<float>{1, 2, 3, 4}));
  const auto y = npy_bytes(dict("<i8", "(2,)"), raw(std::vector<int64_t>{5, 6}));
  const auto arrays = parse_npz(npz_bytes({{"x.npy", x}, {"y.npy", y}}), "d.npz");
  ASSERT_EQ(arrays.size(), 2u);
  EXPECT_EQ(arrays[0].first, "x");
  EXPECT_EQ(arrays[1].first, "y");
  EXPECT_EQ(arrays[1].second.to_int64(), (std::vector<int64_t>{5, 6}));
}

TEST(Npz, CompressedCorruptAndTruncatedArchivesAreRefused) {
  const auto x = npy_bytes(dict("<f4", "(1,)"), raw(std::vector<float>{1}));
  EXPECT_NE(error_of([&] {
              parse_npz(npz_bytes({{"x.npy", x}}, 8), "c.npz");
            }).find("compressed (zip method 8)"),
            std::string::npos);
  auto corrupt = npz_bytes({{"x.npy", x}});
  corrupt[100] ^= 0x40;  // inside the member's data
  EXPECT_NE(error_of([&] { parse_npz(corrupt, "k.npz"); }).find("CRC-32"), std::string::npos);
  auto truncated = npz_bytes({{"x.npy", x}});
  truncated.erase(truncated.begin() + 60, truncated.begin() + 120);
  EXPECT_NE(error_of([&] { parse_npz(truncated, "t.npz"); }), "");
  EXPECT_NE(error_of([&] { parse_npz(x, "n.npz"); }).find("not a zip archive"), std::string::npos);
}

TEST(Npz, ReadArrayPicksTheNamedOrOnlyArrayAndListsTheNames) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("greenai_npy_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto write = [&](const std::string& name, const std::vector<uint8_t>& b) {
    std::ofstream(dir / name, std::ios::binary)
        .write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
    return (dir / name).string();
  };
  const auto x = npy_bytes(dict("<f4", "(1,)"), raw(std::vector<float>{9}));
  const auto y = npy_bytes(dict("<i8", "(1,)"), raw(std::vector<int64_t>{4}));
  const std::string two = write("two.npz", npz_bytes({{"x.npy", x}, {"y.npy", y}}));
  const std::string one = write("one.npz", npz_bytes({{"x.npy", x}}));
  const std::string plain = write("x.npy", x);
  EXPECT_EQ(read_array(two, "y").to_int64(), std::vector<int64_t>{4});
  EXPECT_EQ(read_array(one).to_float32(), std::vector<float>{9});
  EXPECT_EQ(read_array(plain).to_float32(), std::vector<float>{9});
  EXPECT_NE(error_of([&] { read_array(two); }).find("holds 2 arrays (x, y): say which one"),
            std::string::npos);
  EXPECT_NE(error_of([&] { read_array(two, "z"); }).find("no array called z (it has: x, y)"),
            std::string::npos);
  EXPECT_NE(error_of([&] { read_array(plain, "x"); }).find("is a .npy file"), std::string::npos);
  EXPECT_NE(error_of([&] { read_array((dir / "missing.npy").string()); }), "");
  std::filesystem::remove_all(dir);
}

TEST(Npy, WrittenArraysReadBackWithTheirShape) {
  const auto path = std::filesystem::temp_directory_path() /
                    ("greenai_npy_write_" + std::to_string(::getpid()) + ".npy");
  const std::vector<float> values{1.5f, -2, 0, 3e-8f, 7, 8};
  write_npy(path.string(), values, {2, 3});
  const NpyArray back = read_array(path.string());
  EXPECT_EQ(back.descr, "<f4");
  EXPECT_EQ(back.shape, (std::vector<uint64_t>{2, 3}));
  EXPECT_EQ(back.to_float32(), values);
  // The data starts on a 64-byte boundary, as NumPy's writer aligns it.
  EXPECT_EQ((std::filesystem::file_size(path) - values.size() * 4) % 64, 0u);
  write_npy(path.string(), {4, 5}, {2});
  EXPECT_EQ(read_array(path.string()).shape, std::vector<uint64_t>{2});
  EXPECT_NE(error_of([&] {
              write_npy(path.string(), values, {4});
            }).find("the shape holds 4 elements, the data 6"),
            std::string::npos);
  std::filesystem::remove(path);
}

// Whatever the bytes, the reader returns an array whose data matches its shape, or throws
// greenai::Error: never a crash, an overread or another exception.
TEST(NpyFuzz, MutatedFilesParseOrFailCleanly) {
  std::mt19937 rng(4321);
  const auto x = npy_bytes(dict("<f4", "(2, 3)"), raw(std::vector<float>{1, 2, 3, 4, 5, 6}));
  const auto y = npy_bytes(dict(">i8", "(2,)"), raw(std::vector<int64_t>{7, 8}));
  const auto zip = npz_bytes({{"x.npy", x}, {"y.npy", y}});
  for (int i = 0; i < kFuzzCases; ++i) {
    std::vector<uint8_t> b = i % 2 ? x : zip;
    const int mutations = 1 + static_cast<int>(rng() % 4);
    for (int m = 0; m < mutations && !b.empty(); ++m) {
      const size_t pos = rng() % b.size();
      switch (rng() % 3) {
        case 0:
          b[pos] = static_cast<uint8_t>(rng());
          break;
        case 1:
          b.erase(b.begin() + static_cast<long>(pos),
                  b.begin() + static_cast<long>(std::min(b.size(), pos + 1 + rng() % 8)));
          break;
        default:
          b.insert(b.begin() + static_cast<long>(pos), static_cast<uint8_t>(rng()));
      }
    }
    try {
      if (i % 2) {
        const NpyArray a = parse_npy(b, "fuzz.npy");
        EXPECT_EQ(a.data.size(), a.elements() * a.element_bytes());
      } else {
        for (const auto& [name, a] : parse_npz(b, "fuzz.npz"))
          EXPECT_EQ(a.data.size(), a.elements() * a.element_bytes()) << name;
      }
    } catch (const Error&) {
    }
  }
}

}  // namespace
}  // namespace greenai::util
