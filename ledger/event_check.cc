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

void ReadStruct(capnp::AnyStruct::Reader reader, const StructPlan& plan);

void ReadPointer(capnp::AnyPointer::Reader pointer, const PointerPlan& read) {
  switch (read.kind) {
    case PointerKind::kText:
      (void)pointer.getAs<capnp::Text>();
      break;
    case PointerKind::kData:
      (void)pointer.getAs<capnp::Data>();
      break;
    case PointerKind::kStruct:
      ReadStruct(pointer.getAs<capnp::AnyStruct>(), *read.fields);
      break;
    case PointerKind::kAnyPointer:
      (void)pointer.targetSize();
      break;
    case PointerKind::kVoidList:
      (void)pointer.getAs<capnp::List<capnp::Void>>();
      break;
    case PointerKind::kBitList:
      (void)pointer.getAs<capnp::List<bool>>();
      break;
    case PointerKind::kByteList:
      (void)pointer.getAs<capnp::List<uint8_t>>();
      break;
    case PointerKind::kTwoByteList:
      (void)pointer.getAs<capnp::List<uint16_t>>();
      break;
    case PointerKind::kFourByteList:
      (void)pointer.getAs<capnp::List<uint32_t>>();
      break;
    case PointerKind::kEightByteList:
      (void)pointer.getAs<capnp::List<uint64_t>>();
      break;
    case PointerKind::kStructList: {
      // As the generated getter: any element size but bits may stand for structs.
      capnp::AnyList::Reader list = pointer.getAs<capnp::AnyList>();
      KJ_REQUIRE(list.getElementSize() != capnp::ElementSize::BIT,
                 "Found bit list where struct list was expected.");
      for (capnp::AnyStruct::Reader element : list.as<capnp::List<capnp::AnyStruct>>()) {
        ReadStruct(element, *read.fields);
      }
      break;
    }
    case PointerKind::kPointerList: {
      // A struct list upgraded from a pointer list stands for it with its first pointer.
      capnp::AnyList::Reader list = pointer.getAs<capnp::AnyList>();
      if (list.getElementSize() == capnp::ElementSize::INLINE_COMPOSITE) {
        for (capnp::AnyStruct::Reader element : list.as<capnp::List<capnp::AnyStruct>>()) {
          capnp::List<capnp::AnyPointer>::Reader pointers = element.getPointerSection();
          KJ_REQUIRE(pointers.size() > 0,
                     "Expected a pointer list, but got a list of data-only structs.");
          ReadPointer(pointers[0], *read.element);
        }
      } else {
        KJ_REQUIRE(list.getElementSize() == capnp::ElementSize::POINTER,
                   "Expected a pointer list, but got a list of data elements.");
        for (capnp::AnyPointer::Reader element : list.as<capnp::List<capnp::AnyPointer>>()) {
          ReadPointer(element, *read.element);
        }
      }
      break;
    }
    case PointerKind::kNone:
    case PointerKind::kGroup:
      break;
  }
}

void ReadField(capnp::AnyStruct::Reader reader,
               const capnp::List<capnp::AnyPointer>::Reader& pointers, const PointerPlan& read) {
  if (read.kind == PointerKind::kGroup) {
    ReadStruct(reader, *read.fields);
  } else if (read.slot < pointers.size()) {
    ReadPointer(pointers[read.slot], read);  // a pointer past the section reads as its default
  }
}

void ReadStruct(capnp::AnyStruct::Reader reader, const StructPlan& plan) {
  const capnp::List<capnp::AnyPointer>::Reader pointers = reader.getPointerSection();
  for (const PointerPlan& read : plan.fields) ReadField(reader, pointers, read);
  if (!plan.has_union) return;
  const kj::ArrayPtr<const kj::byte> data = reader.getDataSection();
  const size_t at = 2 * size_t{plan.discriminant_offset};
  // A discriminant past the data section is 0, the default member, as the generated which() says.
  const uint16_t which =
      at + 2 <= data.size() ? static_cast<uint16_t>(data[at] | data[at + 1] << 8) : 0;
  // An unknown member has nothing this build can read; DecodeEvent refuses its kind.
  if (which < plan.union_members.size()) ReadField(reader, pointers, plan.union_members[which]);
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

void ReadEveryKnownPointer(capnp::AnyStruct::Reader event) { ReadStruct(event, EventPlan()); }

}  // namespace mulin::ledger::internal
