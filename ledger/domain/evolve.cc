#include "ledger/domain/evolve.h"

#include <kj/exception.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "ledger/domain/evolve_internal.h"
#include "ledger/domain/postings.h"

namespace mulin::domain {
namespace {

struct BalanceUpdate {
  std::string account;
  Balances after;
};

Status Broken(uint64_t seq, const std::string& what) {
  return Status::Corruption("event " + std::to_string(seq) + " does not apply: " + what, seq);
}

// Checks that the postings balance and keep every account in range, and computes the balances
// they lead to (without touching `state`).
Status PlanBalances(const State& state, uint64_t seq, const std::vector<Posting>& postings,
                    std::vector<BalanceUpdate>* updates) {
  __int128 sums[kUnitCount] = {0, 0, 0};
  for (const Posting& posting : postings) {
    const size_t unit = static_cast<size_t>(posting.unit);
    if (unit >= kUnitCount) return Broken(seq, "posting in unknown unit " + std::to_string(unit));
    sums[unit] += posting.delta;
    BalanceUpdate* update = nullptr;
    for (BalanceUpdate& candidate : *updates) {
      if (candidate.account == posting.account) update = &candidate;
    }
    if (update == nullptr) {
      const Balances* current = FindIn(state.balances, posting.account);
      updates->push_back(BalanceUpdate{posting.account, current ? *current : Balances{}});
      update = &updates->back();
    }
    if (__builtin_add_overflow(update->after[unit], posting.delta, &update->after[unit])) {
      return Broken(seq, "balance of " + posting.account + " overflows");
    }
  }
  for (size_t unit = 0; unit < kUnitCount; ++unit) {
    if (sums[unit] != 0) return Broken(seq, "postings do not sum to zero");
  }
  for (const BalanceUpdate& update : *updates) {
    for (size_t unit = 0; unit < kUnitCount; ++unit) {
      if (update.after[unit] < 0 &&
          MustStayNonNegative(update.account, static_cast<schema::Unit>(unit))) {
        return Broken(seq, update.account + " would go below zero");
      }
    }
  }
  return Status::Ok();
}

Status CheckAndApply(State* state, schema::Event::Reader event,
                     const std::vector<Posting>& postings) {
  const uint64_t seq = event.getSeq();
  const int64_t recorded_at_us = event.getRecordedAtUs();
  if (seq != state->last_seq + 1) {
    return Broken(seq, "expected seq " + std::to_string(state->last_seq + 1));
  }
  if (recorded_at_us < state->last_recorded_at_us) {
    return Broken(seq, "the ledger clock went backwards");
  }
  std::vector<BalanceUpdate> updates;
  MULIN_RETURN_IF_ERROR(PlanBalances(*state, seq, postings, &updates));
  Status entities = internal::ApplyToEntities(state, event);
  if (!entities.ok()) return Broken(seq, entities.message());
  // Nothing below can fail: the event applies, so the state moves to it in full.
  for (BalanceUpdate& update : updates) {
    auto [it, inserted] = state->balances.try_emplace(update.account, update.after);
    if (!inserted) it->second = update.after;
    state->changes.Note(*it);
  }
  state->last_seq = seq;
  state->last_recorded_at_us = recorded_at_us;
  return Status::Ok();
}

// `given` is null for events read back from disk, whose postings are derived here.
Status Apply(State* state, schema::Event::Reader event, const std::vector<Posting>* given) {
  Status status;
  // A reader over untrusted bytes may throw while fields are read; no field is read after the
  // state starts to change, so an exception leaves it unchanged.
  KJ_IF_MAYBE (exception, kj::runCatchingExceptions([&]() {
                 status = given != nullptr ? CheckAndApply(state, event, *given)
                                           : CheckAndApply(state, event, Postings(event));
               })) {
    return Status::Corruption("event does not decode: " +
                              std::string(exception->getDescription().cStr()));
  }
  return status;
}

void AbortUnless(const Status& status) {
  if (!status.ok()) {
    std::fprintf(stderr, "mulin: invariant violated, stopping: %s\n", status.message().c_str());
    std::abort();
  }
}

}  // namespace

Status EvolveChecked(State* state, schema::Event::Reader event) {
  return Apply(state, event, nullptr);
}

void Evolve(State* state, schema::Event::Reader event) {
  AbortUnless(Apply(state, event, nullptr));
}

void Evolve(State* state, schema::Event::Reader event, const std::vector<Posting>& postings) {
  AbortUnless(Apply(state, event, &postings));
}

}  // namespace mulin::domain
