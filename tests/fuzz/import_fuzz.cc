// Fuzz target: one line of `mulin import`. The line goes through the import's own parser (the
// size, emptiness and UTF-8 checks, the JSON codec and the strict field check) and, when it parses,
// through the domain's Decide against a small ledger state; an accepted command's events must then
// apply with Evolve, which aborts on any broken invariant (balances, seqs, entity states).
//
// ParseLine is internal to the import command, so its source is compiled in here: the fuzzer runs
// exactly the code that `mulin import` runs.
#include <capnp/serialize.h>

#include <cstdint>
#include <string>

#include "ledger/domain/decide.h"
#include "ledger/domain/evolve.h"
#include "ledger/domain/state.h"
#include "tools/mulin/import_command.cc"  // NOLINT(build/include): see above

namespace {

constexpr int64_t kStartUs = 1772323200000000;  // 2026-03-01 08:00 Asia/Shanghai
constexpr int64_t kStepUs = 1000000;

// The ledger each line is decided against: communities, people, a merchant and its terminal, an
// order at each step, a redemption and a sale; the lines are the JSON form import reads.
const char* const kSetupLines[] = {
    R"({"requestId":"s1","actorId":"operator","communityId":"xishan","body":{"registerCommunity":{"name":"西山社区"}}})",
    R"({"requestId":"s2","actorId":"operator","communityId":"xishan","body":{"registerMember":{"memberId":"ST1","name":"s","roles":["staff"]}}})",
    R"({"requestId":"s3","actorId":"operator","communityId":"xishan","body":{"registerMember":{"memberId":"ST2","name":"s","roles":["staff"]}}})",
    R"({"requestId":"s4","actorId":"operator","communityId":"xishan","body":{"registerMember":{"memberId":"SW1","name":"w","roles":["socialWorker"]}}})",
    R"({"requestId":"s5","actorId":"operator","communityId":"xishan","body":{"registerMember":{"memberId":"R1","name":"r","roles":["resident"]}}})",
    R"({"requestId":"s6","actorId":"operator","communityId":"xishan","body":{"registerMember":{"memberId":"V1","name":"v","roles":["volunteer","resident"]}}})",
    R"({"requestId":"s7","actorId":"operator","communityId":"xishan","body":{"registerMerchant":{"merchantId":"M1","name":"m","contributionRateBps":1000}}})",
    R"({"requestId":"s8","actorId":"operator","communityId":"xishan","body":{"registerTerminal":{"terminalId":"T1","merchantId":"M1"}}})",
    R"({"requestId":"s9","actorId":"operator","communityId":"xishan","body":{"registerProject":{"projectId":"P1","name":"p"}}})",
    R"({"requestId":"s10","actorId":"ST1","communityId":"xishan","body":{"adjust":{"accountId":"volunteer:V1","unit":"points","delta":"100","reason":"opening"}}})",
    R"({"requestId":"s11","actorId":"T1","body":{"redeem":{"redemptionId":"RD1","volunteerId":"V1","terminalId":"T1","points":"5"}}})",
    R"({"requestId":"s12","actorId":"T1","body":{"recordSale":{"saleId":"S1","merchantId":"M1","grossFen":"10000"}}})",
    R"({"requestId":"s13","actorId":"ST1","body":{"requestPayout":{"payoutId":"PAY1","projectId":"P1","amountFen":"500","purpose":"p"}}})",
    R"({"requestId":"s14","actorId":"R1","communityId":"xishan","body":{"placeOrder":{"orderId":"O1","residentId":"R1","service":"s"}}})",
    R"({"requestId":"s15","actorId":"R1","communityId":"xishan","body":{"placeOrder":{"orderId":"O2","residentId":"R1","service":"s"}}})",
    R"({"requestId":"s16","actorId":"ST1","body":{"dispatchOrder":{"orderId":"O2","socialWorkerId":"SW1"}}})",
    R"({"requestId":"s17","actorId":"SW1","body":{"acceptOrder":{"orderId":"O2"}}})",
    R"({"requestId":"s18","actorId":"SW1","body":{"deliverOrder":{"orderId":"O2","volunteers":[{"volunteerId":"V1","minutes":"60"}]}}})",
};

// Decides `bytes` against `state` at `now_us`; applies the events when accepted. False when the
// command was not accepted.
bool DecideAndApply(mulin::domain::State* state, const std::string& bytes, int64_t now_us) {
  kj::ArrayPtr<const capnp::word> words(reinterpret_cast<const capnp::word*>(bytes.data()),
                                        bytes.size() / sizeof(capnp::word));
  capnp::FlatArrayMessageReader reader(words);
  mulin::domain::Decision decision =
      mulin::domain::Decide(*state, reader.getRoot<mulin::schema::Command>(),
                            mulin::domain::DecideContext{now_us, state->last_seq + 1});
  if (!decision.status.ok()) return false;
  for (auto& event : decision.events) {
    mulin::domain::Evolve(state, event->getRoot<mulin::schema::Event>().asReader());
  }
  return true;
}

const mulin::domain::State& BaseState() {
  static const mulin::domain::State* state = [] {
    auto* built = new mulin::domain::State();
    capnp::JsonCodec codec;
    int64_t now_us = kStartUs;
    for (const char* line : kSetupLines) {
      mulin::Result<std::string> bytes = mulin::cli::ParseLine(codec, line);
      // The setup is part of the target: a line that stops parsing or applying is a bug here.
      if (!bytes.ok() || !DecideAndApply(built, *bytes, now_us += kStepUs)) __builtin_trap();
    }
    return built;
  }();
  return *state;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const mulin::domain::State& base = BaseState();
  static const capnp::JsonCodec* codec = new capnp::JsonCodec();
  // Import reads lines with std::getline: a line never holds a line end.
  std::string line(reinterpret_cast<const char*>(data), size);
  line.resize(std::min(line.size(), line.find('\n')));
  mulin::Result<std::string> bytes = mulin::cli::ParseLine(*codec, line);
  if (!bytes.ok()) return 0;
  mulin::domain::State state = base;
  DecideAndApply(&state, *bytes, base.last_recorded_at_us + kStepUs);
  return 0;
}
