// Goal: a command's content hash (the request index's conflict check) is BLAKE2b-256 of exactly the
// bytes capnp::canonicalize gives, however the command was encoded (as built, canonical, spread
// over many segments) and whatever the decoding thread hashed before it.
#include "ledger/command_decode.h"

#include <capnp/message.h>
#include <capnp/serialize.h>
#include <gtest/gtest.h>
#include <sodium.h>

#include <algorithm>
#include <cstring>
#include <set>
#include <string>
#include <vector>

#include "ledger/domain/state.h"
#include "tests/support/domain_generator.h"

namespace mulin::ledger {
namespace {

std::string Flat(kj::Array<capnp::word> words) {
  return std::string(words.asChars().begin(), words.asChars().size());
}

// The three encodings of one command.
struct Encodings {
  std::string built;      // as a builder lays it out: full-size structs, fields in call order
  std::string canonical;  // capnp::canonicalize's words behind a one-segment table
  std::string segmented;  // a segment for every object
};

Encodings Encode(uint64_t seed, domain::State* state) {
  mulin::testing::CommandGenerator generator(seed, state);
  capnp::MallocMessageBuilder built(64);
  generator.Fill(built.initRoot<schema::Command>());
  built.getRoot<schema::Command>().setRequestId("request-" + std::to_string(seed));
  auto reader = built.getRoot<schema::Command>().asReader();
  Encodings out;
  out.built = Flat(capnp::messageToFlatArray(built));
  const kj::Array<capnp::word> words = capnp::canonicalize(reader);
  const kj::ArrayPtr<const capnp::word> segment = words;
  out.canonical = Flat(capnp::messageToFlatArray(kj::arrayPtr(&segment, 1)));
  capnp::MallocMessageBuilder segmented(1, capnp::AllocationStrategy::FIXED_SIZE);
  segmented.setRoot(reader);
  EXPECT_GT(segmented.getSegmentsForOutput().size(), 1u);
  out.segmented = Flat(capnp::messageToFlatArray(segmented));
  return out;
}

// The reference: what the hash is defined to be.
ContentHash Reference(schema::Command::Reader command) {
  kj::Array<capnp::word> canonical = capnp::canonicalize(command);
  ContentHash hash;
  crypto_generichash(hash.data(), hash.size(), canonical.asBytes().begin(),
                     canonical.asBytes().size(), nullptr, 0);
  return hash;
}

ContentHash HashOf(const std::string& bytes) {
  DecodedCommand decoded;
  Status status = DecodeCommand(bytes, &decoded);
  // Generated commands may lack an actor id; those are refused after hashing, which is fine here.
  if (!status.ok()) {
    EXPECT_NE(std::string::npos, status.message().find("actor id")) << status.ToString();
  }
  EXPECT_EQ(Reference(decoded.command), decoded.hash);
  return decoded.hash;
}

TEST(CommandDecodeTest, TheHashIsOfTheCanonicalBytesHoweverTheCommandWasEncoded) {
  domain::State state;
  size_t differently_encoded = 0;
  for (uint64_t seed = 1; seed <= 400; ++seed) {
    const Encodings e = Encode(seed, &state);
    if (e.built != e.canonical) ++differently_encoded;
    const ContentHash built = HashOf(e.built);
    EXPECT_EQ(built, HashOf(e.canonical)) << "seed " << seed;
    EXPECT_EQ(built, HashOf(e.segmented)) << "seed " << seed;
  }
  // The comparison means something only if the encodings differ.
  EXPECT_GT(differently_encoded, 300u);
}

TEST(CommandDecodeTest, ALargeCommandHashedBeforeASmallOneLeavesNothingBehind) {
  domain::State state;
  std::vector<Encodings> commands;
  for (uint64_t seed = 1; seed <= 200; ++seed) commands.push_back(Encode(seed, &state));
  // Largest first, then smallest: each command is hashed in space a larger one has just used.
  std::sort(commands.begin(), commands.end(),
            [](const Encodings& a, const Encodings& b) { return a.built.size() > b.built.size(); });
  ASSERT_GT(commands.front().built.size(), 2 * commands.back().built.size());
  for (const Encodings& e : commands) HashOf(e.built);
  for (auto it = commands.rbegin(); it != commands.rend(); ++it) HashOf(it->segmented);
}

// `bytes` (one segment, as `Encodings::canonical`) with the root struct's last pointer turned into
// a far pointer to a segment the message lacks: the canonical copy copies the root's data and its
// other pointers, then fails there.
std::string WithBrokenLastPointer(std::string bytes) {
  constexpr size_t kSegmentStart = 8;  // a one-segment table: the count, one size
  uint64_t root = 0;
  std::memcpy(&root, bytes.data() + kSegmentStart, sizeof(root));
  EXPECT_EQ(0u, root & 3) << "the root is a struct pointer";
  const int64_t offset = static_cast<int32_t>(root & 0xffffffffu) >> 2;
  const uint64_t data_words = (root >> 32) & 0xffff;
  const uint64_t pointers = root >> 48;
  EXPECT_GT(pointers, 1u);
  const size_t last = kSegmentStart + 8 * (1 + offset + data_words + pointers - 1);
  const uint64_t far_to_segment_9 = (uint64_t{9} << 32) | 2;
  std::memcpy(&bytes[last], &far_to_segment_9, sizeof(far_to_segment_9));
  return bytes;
}

TEST(CommandDecodeTest, ACopyThatFailsPartWayLeavesNothingBehind) {
  domain::State state;
  std::vector<Encodings> commands;
  for (uint64_t seed = 1; seed <= 200; ++seed) commands.push_back(Encode(seed, &state));
  std::sort(commands.begin(), commands.end(), [](const Encodings& a, const Encodings& b) {
    return a.canonical.size() > b.canonical.size();
  });
  // The largest command, broken, fails in the space that each smaller one is then hashed in: each
  // is refused as malformed, and the hashes after it are still those of capnp::canonicalize.
  const std::string broken = WithBrokenLastPointer(commands.front().canonical);
  for (const Encodings& e : commands) {
    DecodedCommand decoded;
    const Status status = DecodeCommand(broken, &decoded);
    ASSERT_EQ(Code::kInvalidArgument, status.code()) << status.ToString();
    EXPECT_NE(std::string::npos, status.message().find("malformed command")) << status.ToString();
    HashOf(e.built);  // compares with capnp::canonicalize
  }
}

TEST(CommandDecodeTest, DistinctCommandsHashDistinctly) {
  domain::State state;
  std::set<ContentHash> hashes;
  for (uint64_t seed = 1; seed <= 400; ++seed) hashes.insert(HashOf(Encode(seed, &state).built));
  EXPECT_EQ(400u, hashes.size());  // each has its own request id
}

}  // namespace
}  // namespace mulin::ledger
