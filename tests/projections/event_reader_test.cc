// Goal: the engine's reading thread hands every record of its range to the fold in seq order, and
// the two threads sleep for each other once per half queue at most, not once per chunk: a fold
// faster than the reader waits for half the queue to fill, a reader faster than the fold waits
// for half of it to drain. A fold that goes away while the reader waits for room stops it.
#include "projections/event_reader.h"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "tests/projections/ledger_fixture.h"
#include "tests/support/temp_dir.h"

namespace mulin::projections::internal {
namespace {

constexpr size_t kHalfQueue = kReaderChunksAhead / 2;

class EventReaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ledger_.Open();
    head_ = ledger_.AppendRandomEvents(31, kEvents);
  }

  // Takes every chunk left, checking that the seqs run on from `from`; sleeps `per_chunk` after
  // each. Returns how many chunks it took.
  uint64_t ReadAll(EventReader* reader, uint64_t from, std::chrono::microseconds per_chunk) {
    uint64_t next = from;
    uint64_t chunks = 0;
    for (auto chunk = reader->Next(); !chunk.empty(); chunk = reader->Next()) {
      ++chunks;
      for (const DecodedRecord& record : chunk) {
        EXPECT_EQ(record.seq, next);
        EXPECT_EQ(record.event.event().getSeq(), next);
        ++next;
      }
      reader->Recycle(std::move(chunk));
      if (per_chunk.count() > 0) std::this_thread::sleep_for(per_chunk);
    }
    EXPECT_TRUE(reader->status().ok()) << reader->status().ToString();
    return chunks;
  }

  // True once the reader has gone to sleep for room (within a minute).
  static bool ReaderWaitsForRoom(EventReader* reader) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (reader->waits().reader == 0) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return true;
  }

  static constexpr size_t kEvents = 20000;  // about 80 chunks, two and a half queues
  testing::TempDir dir_;
  testing::LedgerFixture ledger_{dir_.path()};
  uint64_t head_ = 0;
};

TEST_F(EventReaderTest, HandsOverEveryRecordOfTheRangeInOrder) {
  {
    EventReader reader(*ledger_.log(), 1, head_);
    const uint64_t chunks = ReadAll(&reader, 1, std::chrono::microseconds(0));
    EXPECT_EQ(chunks, (head_ + kReaderChunkEvents - 1) / kReaderChunkEvents);
  }
  EventReader middle(*ledger_.log(), 5001, 15000);
  EXPECT_EQ(ReadAll(&middle, 5001, std::chrono::microseconds(0)),
            (10000 + kReaderChunkEvents - 1) / kReaderChunkEvents);
}

TEST_F(EventReaderTest, AFoldFasterThanTheReaderSleepsOncePerHalfQueue) {
  EventReader reader(*ledger_.log(), 1, head_);
  const uint64_t chunks = ReadAll(&reader, 1, std::chrono::microseconds(0));
  // Each sleep but the last ends with half a queue ready.
  EXPECT_LE(reader.waits().fold, chunks / kHalfQueue + 1);
}

TEST_F(EventReaderTest, AReaderFasterThanTheFoldSleepsOncePerHalfQueue) {
  EventReader reader(*ledger_.log(), 1, head_);
  // The fold holds its first chunk until the reader has filled the queue behind it (however slow
  // a sanitizer makes the reader), then takes the rest slowly.
  std::vector<DecodedRecord> first = reader.Next();
  ASSERT_FALSE(first.empty());
  ASSERT_TRUE(ReaderWaitsForRoom(&reader));
  reader.Recycle(std::move(first));
  const uint64_t chunks =
      1 + ReadAll(&reader, 1 + kReaderChunkEvents, std::chrono::microseconds(5000));
  // Each sleep but the last ends with half a queue free, which the reader fills before the next.
  EXPECT_LE(reader.waits().reader, chunks / kHalfQueue + 1);
}

TEST_F(EventReaderTest, AFoldThatGoesAwayStopsTheReaderWaitingForRoom) {
  auto reader = std::make_unique<EventReader>(*ledger_.log(), 1, head_);
  std::vector<DecodedRecord> first = reader->Next();
  ASSERT_FALSE(first.empty());
  ASSERT_TRUE(ReaderWaitsForRoom(reader.get()));
  EXPECT_EQ(reader->waits().reader, 1u);
  reader.reset();  // joins the reading thread: returns only if it stopped waiting
}

}  // namespace
}  // namespace mulin::projections::internal
