#include "ledger/event_check.h"

#include <capnp/schema.h>
#include <kj/debug.h>

#include <map>
#include <memory>
#include <vector>

#include "ledger/schema/event.capnp.h"

namespace mulin::ledger::internal {
namespace {

// What reading one pointer involves. Primitive lists differ only in the element size checked.
enum class PointerKind : uint8_t {
  kNone,   // a data field, or a union member without a pointer: nothing to read
  kGroup,  // fields of the same struct, with their own union
  kText,
  kData,
  kStruct,
  kAnyPointer,
  kVoidList,
  kBitList,
  kByteList,
  kTwoByteList,
  kFourByteList,
  kEightByteList,
  kStructList,
  kPointerList,  // elements that are themselves pointers: text, data, lists, any
};

struct StructPlan;

struct PointerPlan {
  PointerKind kind = PointerKind::kNone;
  uint32_t slot = 0;                     // index in the pointer section
  const StructPlan* fields = nullptr;    // kGroup, kStruct, kStructList
  std::unique_ptr<PointerPlan> element;  // kPointerList: how to read each element
};

struct StructPlan {
  std::vector<PointerPlan> fields;  // non-union fields that hold pointers
  bool has_union = false;
  uint32_t discriminant_offset = 0;        // in 16-bit units into the data section
  std::vector<PointerPlan> union_members;  // indexed by discriminant value
};

PointerKind ListKind(capnp::schema::Type::Which element) {
  using T = capnp::schema::Type;
  switch (element) {
    case T::VOID:
      return PointerKind::kVoidList;
    case T::BOOL:
      return PointerKind::kBitList;
    case T::INT8:
    case T::UINT8:
      return PointerKind::kByteList;
    case T::INT16:
    case T::UINT16:
    case T::ENUM:
      return PointerKind::kTwoByteList;
    case T::INT32:
    case T::UINT32:
    case T::FLOAT32:
      return PointerKind::kFourByteList;
    case T::INT64:
    case T::UINT64:
    case T::FLOAT64:
      return PointerKind::kEightByteList;
    case T::STRUCT:
      return PointerKind::kStructList;
    default:
      return PointerKind::kPointerList;
  }
}

// Works out plans for a struct type and every type reachable from it, once.
class Planner {
 public:
  const StructPlan& For(capnp::StructSchema schema) {
    auto [it, inserted] = plans_.try_emplace(schema.getProto().getId());
    if (!inserted) return *it->second;  // also ends recursion through recursive types
    it->second = std::make_unique<StructPlan>();
    StructPlan* plan = it->second.get();
    for (capnp::StructSchema::Field field : schema.getNonUnionFields()) {
      PointerPlan read = ForField(field);
      if (read.kind != PointerKind::kNone) plan->fields.push_back(std::move(read));
    }
    capnp::StructSchema::FieldSubset members = schema.getUnionFields();
    if (members.size() > 0) {
      plan->has_union = true;
      plan->discriminant_offset = schema.getProto().getStruct().getDiscriminantOffset();
      for (capnp::StructSchema::Field field : members) {
        const uint16_t value = field.getProto().getDiscriminantValue();
        if (plan->union_members.size() <= value) plan->union_members.resize(value + 1u);
        plan->union_members[value] = ForField(field);
      }
    }
    return *plan;
  }

 private:
  PointerPlan ForField(capnp::StructSchema::Field field) {
    PointerPlan read;
    if (field.getProto().isGroup()) {
      read.kind = PointerKind::kGroup;
      read.fields = &For(field.getType().asStruct());
      return read;
    }
    read = ForType(field.getType());
    read.slot = field.getProto().getSlot().getOffset();
    // ReadStruct marks the slots it has read in 64 bits.
    KJ_ASSERT(read.kind == PointerKind::kNone || read.slot < 64, "pointer slot past 64", read.slot);
    return read;
  }

  PointerPlan ForType(capnp::Type type) {
    using T = capnp::schema::Type;
    PointerPlan read;
    switch (type.which()) {
      case T::TEXT:
        read.kind = PointerKind::kText;
        break;
      case T::DATA:
        read.kind = PointerKind::kData;
        break;
      case T::STRUCT:
        read.kind = PointerKind::kStruct;
        read.fields = &For(type.asStruct());
        break;
      case T::ANY_POINTER:
      case T::INTERFACE:
        read.kind = PointerKind::kAnyPointer;
        break;
      case T::LIST: {
        const capnp::Type element = type.asList().getElementType();
        read.kind = ListKind(element.which());
        if (read.kind == PointerKind::kStructList) read.fields = &For(element.asStruct());
        if (read.kind == PointerKind::kPointerList) {
          read.element = std::make_unique<PointerPlan>(ForType(element));
        }
        break;
      }
      default:
        break;  // numbers, enums, void: data, not pointers
    }
    return read;
  }

  std::map<uint64_t, std::unique_ptr<StructPlan>> plans_;
};

uint64_t ReadStruct(capnp::AnyStruct::Reader reader, const StructPlan& plan);

// Words of a pointer's target as StructReader::totalSize() counts them: a walk of its own.
uint64_t TargetWords(capnp::AnyPointer::Reader pointer) { return pointer.targetSize().wordCount; }

uint64_t WordsOfBytes(size_t bytes) {
  return (bytes + sizeof(capnp::word) - 1) / sizeof(capnp::word);
}

// Reads one non-null pointer as its field's getter would; returns the words it reaches.
uint64_t ReadPointer(capnp::AnyPointer::Reader pointer, const PointerPlan& read) {
  switch (read.kind) {
    case PointerKind::kText:  // a byte list of the text and its NUL
      return WordsOfBytes(pointer.getAs<capnp::Text>().size() + 1);
    case PointerKind::kData:
      return WordsOfBytes(pointer.getAs<capnp::Data>().size());
    case PointerKind::kStruct:
      return ReadStruct(pointer.getAs<capnp::AnyStruct>(), *read.fields);
    case PointerKind::kAnyPointer:
      return TargetWords(pointer);
    // Lists of numbers and enums are rare in events; their size comes from a second look.
    case PointerKind::kVoidList:
      (void)pointer.getAs<capnp::List<capnp::Void>>();
      return TargetWords(pointer);
    case PointerKind::kBitList:
      (void)pointer.getAs<capnp::List<bool>>();
      return TargetWords(pointer);
    case PointerKind::kByteList:
      (void)pointer.getAs<capnp::List<uint8_t>>();
      return TargetWords(pointer);
    case PointerKind::kTwoByteList:
      (void)pointer.getAs<capnp::List<uint16_t>>();
      return TargetWords(pointer);
    case PointerKind::kFourByteList:
      (void)pointer.getAs<capnp::List<uint32_t>>();
      return TargetWords(pointer);
    case PointerKind::kEightByteList:
      (void)pointer.getAs<capnp::List<uint64_t>>();
      return TargetWords(pointer);
    case PointerKind::kStructList: {
      // As the generated getter: any element size but bits may stand for structs.
      capnp::AnyList::Reader list = pointer.getAs<capnp::AnyList>();
      KJ_REQUIRE(list.getElementSize() != capnp::ElementSize::BIT,
                 "Found bit list where struct list was expected.");
      uint64_t words = 0;
      for (capnp::AnyStruct::Reader element : list.as<capnp::List<capnp::AnyStruct>>()) {
        words += ReadStruct(element, *read.fields);
      }
      // A list as writers make it: its tag word and its elements, each counted by ReadStruct.
      if (list.getElementSize() == capnp::ElementSize::INLINE_COMPOSITE) return words + 1;
      // Elements of data or of one pointer standing for structs: not sized per element.
      return TargetWords(pointer);
    }
    case PointerKind::kPointerList: {
      // A struct list upgraded from a pointer list stands for it with its first pointer.
      capnp::AnyList::Reader list = pointer.getAs<capnp::AnyList>();
      if (list.getElementSize() == capnp::ElementSize::INLINE_COMPOSITE) {
        for (capnp::AnyStruct::Reader element : list.as<capnp::List<capnp::AnyStruct>>()) {
          capnp::List<capnp::AnyPointer>::Reader pointers = element.getPointerSection();
          KJ_REQUIRE(pointers.size() > 0,
                     "Expected a pointer list, but got a list of data-only structs.");
          if (!pointers[0].isNull()) (void)ReadPointer(pointers[0], *read.element);
        }
      } else {
        KJ_REQUIRE(list.getElementSize() == capnp::ElementSize::POINTER,
                   "Expected a pointer list, but got a list of data elements.");
        for (capnp::AnyPointer::Reader element : list.as<capnp::List<capnp::AnyPointer>>()) {
          if (!element.isNull()) (void)ReadPointer(element, *read.element);
        }
      }
      return TargetWords(pointer);
    }
    case PointerKind::kNone:
    case PointerKind::kGroup:
      break;
  }
  return 0;
}

// Bit i set: pointer slot i was read by a field of the plan. The planner keeps slots below 64.
using Slots = uint64_t;

uint64_t ReadFields(capnp::AnyStruct::Reader reader,
                    const capnp::List<capnp::AnyPointer>::Reader& pointers, const StructPlan& plan,
                    Slots* read_slots);

uint64_t ReadField(capnp::AnyStruct::Reader reader,
                   const capnp::List<capnp::AnyPointer>::Reader& pointers, const PointerPlan& read,
                   Slots* read_slots) {
  if (read.kind == PointerKind::kGroup) {
    return ReadFields(reader, pointers, *read.fields, read_slots);
  }
  if (read.kind == PointerKind::kNone || read.slot >= pointers.size()) {
    return 0;  // a pointer past the section reads as its default
  }
  *read_slots |= Slots{1} << read.slot;
  const capnp::AnyPointer::Reader pointer = pointers[read.slot];
  return pointer.isNull() ? 0 : ReadPointer(pointer, read);
}

uint64_t ReadFields(capnp::AnyStruct::Reader reader,
                    const capnp::List<capnp::AnyPointer>::Reader& pointers, const StructPlan& plan,
                    Slots* read_slots) {
  uint64_t words = 0;
  for (const PointerPlan& read : plan.fields) {
    words += ReadField(reader, pointers, read, read_slots);
  }
  if (!plan.has_union) return words;
  const kj::ArrayPtr<const kj::byte> data = reader.getDataSection();
  const size_t at = 2 * size_t{plan.discriminant_offset};
  // A discriminant past the data section is 0, the default member, as the generated which() says.
  const uint16_t which =
      at + 2 <= data.size() ? static_cast<uint16_t>(data[at] | data[at + 1] << 8) : 0;
  // An unknown member has nothing this build can read; DecodeEvent refuses its kind.
  if (which < plan.union_members.size()) {
    words += ReadField(reader, pointers, plan.union_members[which], read_slots);
  }
  return words;
}

// The struct's own sections, what its known fields reach, and what every other pointer reaches
// (fields of a newer schema, members of a union not taken): totalSize() walks those too.
uint64_t ReadStruct(capnp::AnyStruct::Reader reader, const StructPlan& plan) {
  const capnp::List<capnp::AnyPointer>::Reader pointers = reader.getPointerSection();
  uint64_t words = WordsOfBytes(reader.getDataSection().size()) + pointers.size();
  Slots read_slots = 0;
  words += ReadFields(reader, pointers, plan, &read_slots);
  for (uint32_t slot = 0; slot < pointers.size(); ++slot) {
    if (slot < 64 && (read_slots >> slot & 1)) continue;
    if (!pointers[slot].isNull()) words += TargetWords(pointers[slot]);
  }
  return words;
}

const StructPlan& EventPlan() {
  // Built on first use; C++ guarantees one initialisation even with several verify threads.
  static const StructPlan* const plan = [] {
    static Planner planner;
    return &planner.For(capnp::Schema::from<schema::Event>());
  }();
  return *plan;
}

}  // namespace

uint64_t ReadEveryPointer(capnp::AnyStruct::Reader event) { return ReadStruct(event, EventPlan()); }

}  // namespace mulin::ledger::internal
