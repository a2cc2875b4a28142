// Goal: times parse from ISO 8601 with an offset or from a date (Asia/Shanghai midnight) and
// print in Asia/Shanghai with +08:00; bad times are refused with a reason; fen print as yuan
// exactly; CSV starts with a BOM, quotes what needs quoting and disarms formulas; row keys sort
// the way queries scan them.
#include "projections/format.h"

#include <gtest/gtest.h>

#include <limits>
#include <sstream>

#include "projections/codec.h"

namespace mulin::projections {
namespace {

constexpr int64_t kUs = 1000000;
// 2026-03-01T00:00:00Z
constexpr int64_t kMarch1Utc = 1772323200LL;

TEST(ProjectionFormatTest, ParsesOffsetsAndDates) {
  EXPECT_EQ(kMarch1Utc * kUs, *ParseTime("2026-03-01T08:00:00+08:00"));
  EXPECT_EQ(kMarch1Utc * kUs, *ParseTime("2026-03-01T00:00:00Z"));
  EXPECT_EQ(kMarch1Utc * kUs, *ParseTime("2026-02-28T19:00:00-0500"));
  EXPECT_EQ(kMarch1Utc * kUs, *ParseTime("2026-03-01 08:00+08:00"));
  EXPECT_EQ(kMarch1Utc * kUs + 250000, *ParseTime("2026-03-01T08:00:00.25+08:00"));
  // A date is midnight in Asia/Shanghai: 16:00 UTC the day before.
  EXPECT_EQ((kMarch1Utc - 8 * 3600) * kUs, *ParseTime("2026-03-01"));
  EXPECT_EQ(*ParseTime("2024-02-29"), *ParseTime("2024-02-29T00:00:00+08:00"));
}

TEST(ProjectionFormatTest, RefusesBadTimesWithAReason) {
  for (const char* bad :
       {"", "yesterday", "2026-13-01", "2026-02-29", "2026-03-01T24:00+08:00",
        "2026-03-01T08:00:00", "2026-03-01T08:00:00+8", "2026-03-01T08:00:60Z",
        "2026-03-01T08:00:00.1234567Z", "2026-03-01T08:00:00+08:00x", "20260301"}) {
    auto parsed = ParseTime(bad);
    ASSERT_FALSE(parsed.ok()) << bad;
    EXPECT_EQ(Code::kInvalidArgument, parsed.status().code());
    EXPECT_EQ(std::string::npos, parsed.status().message().find('\n'));
    EXPECT_NE(std::string::npos, parsed.status().message().find("is not a time")) << bad;
  }
  EXPECT_NE(std::string::npos,
            ParseTime("2026-03-01T08:00:00").status().message().find("no UTC offset"));
  EXPECT_NE(std::string::npos,
            ParseTime("2026-13-01").status().message().find("month 13 is out of range"));
  EXPECT_NE(std::string::npos,
            ParseTime("2026-02-29").status().message().find("day 29 is out of range"));
}

TEST(ProjectionFormatTest, PrintsAsiaShanghaiWithItsOffset) {
  EXPECT_EQ("2026-03-01T08:00:00+08:00", FormatTime(kMarch1Utc * kUs));
  EXPECT_EQ("2026-03-01T00:00:00+08:00", FormatTime(*ParseTime("2026-03-01")));
  EXPECT_EQ("2026-03-01T08:00:00+08:00", FormatTime(kMarch1Utc * kUs + 999999));
  EXPECT_EQ("1970-01-01T08:00:00+08:00", FormatTime(0));
  EXPECT_EQ("1970-01-01T07:59:59+08:00", FormatTime(-1));  // rounds down, never up
  for (int64_t t : {int64_t{0}, kMarch1Utc * kUs, int64_t{4102444800} * kUs}) {
    EXPECT_EQ(t, *ParseTime(FormatTime(t)));
  }
}

TEST(ProjectionFormatTest, YuanHasTwoDecimalsExactly) {
  EXPECT_EQ("0.00", FormatYuan(0));
  EXPECT_EQ("0.05", FormatYuan(5));
  EXPECT_EQ("12.34", FormatYuan(1234));
  EXPECT_EQ("-0.05", FormatYuan(-5));
  EXPECT_EQ("-100.00", FormatYuan(-10000));
  EXPECT_EQ("92233720368547758.07", FormatYuan(std::numeric_limits<int64_t>::max()));
  EXPECT_EQ("-92233720368547758.08", FormatYuan(std::numeric_limits<int64_t>::min()));
  EXPECT_EQ("+10", FormatSigned(10));
  EXPECT_EQ("-3", FormatSigned(-3));
  EXPECT_EQ("0", FormatSigned(0));
}

TEST(ProjectionFormatTest, CsvHasBomQuotesAndDisarmsFormulas) {
  std::ostringstream out;
  CsvWriter csv(&out);
  csv.Row({"seq", "note"});
  csv.Row({"1", "a, b"});
  csv.Row({"2", "say \"hi\""});
  csv.Row({"3", CsvText("=HYPERLINK(\"x\")")});
  csv.Row({"-12.34", CsvText("西山社区")});
  EXPECT_EQ(
      "\xEF\xBB\xBF"
      "seq,note\r\n1,\"a, b\"\r\n2,\"say \"\"hi\"\"\"\r\n3,\"'=HYPERLINK(\"\"x\"\")\"\r\n"
      "-12.34,西山社区\r\n",
      out.str());
}

TEST(ProjectionCodecTest, KeyStringsSortAndSplitEvenWithZeroBytes) {
  const std::vector<std::string> sorted = {
      "", std::string("a"), std::string("a\0", 2), std::string("a\0b", 3), "a\x01", "ab", "b"};
  std::vector<std::string> keys;
  for (const std::string& s : sorted) {
    std::string key;
    AppendKeyString(&key, s);
    AppendKeyU64(&key, 7);
    keys.push_back(key);
    std::string_view in(key);
    std::string back;
    uint64_t seven = 0;
    ASSERT_TRUE(ReadKeyString(&in, &back) && ReadKeyU64(&in, &seven));
    EXPECT_EQ(s, back);
    EXPECT_EQ(7u, seven);
    EXPECT_TRUE(in.empty());
  }
  EXPECT_TRUE(std::is_sorted(keys.begin(), keys.end()));
  std::string_view unterminated("abc");
  std::string out;
  EXPECT_FALSE(ReadKeyString(&unterminated, &out));
}

TEST(ProjectionCodecTest, ValuesRefuseShortAndLongBytes) {
  const std::string value = ValueWriter().I64(-5).Str("西山").U8(3).Finish();
  ValueReader whole(value);
  EXPECT_EQ(-5, whole.I64());
  EXPECT_EQ("西山", whole.Str());
  EXPECT_EQ(3, whole.U8());
  EXPECT_TRUE(whole.ok());
  ValueReader shorter(std::string_view(value).substr(0, value.size() - 1));
  shorter.I64();
  shorter.Str();
  shorter.U8();
  EXPECT_FALSE(shorter.ok());
  const std::string longer = value + "x";
  ValueReader extra(longer);
  extra.I64();
  extra.Str();
  extra.U8();
  EXPECT_FALSE(extra.ok());
  const std::string lie = ValueWriter().U32(1000).Finish();  // a length past the end
  ValueReader lying(lie);                                    // readers borrow their bytes
  EXPECT_EQ("", lying.Str());
  EXPECT_FALSE(lying.ok());
}

}  // namespace
}  // namespace mulin::projections
