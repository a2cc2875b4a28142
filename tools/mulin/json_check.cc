#include "tools/mulin/json_check.h"

namespace mulin::cli {
namespace {

std::string Join(const std::string& path, const std::string& key) {
  return path.empty() ? key : path + "." + key;
}

Status CheckValue(capnp::json::Value::Reader value, capnp::Type type, const std::string& path) {
  if (type.isStruct()) {
    if (!value.isObject()) return Status::InvalidArgument(path + ": expected a JSON object");
    return CheckJsonFields(value, type.asStruct(), path);
  }
  if (type.isList()) {
    if (value.isNull()) return Status::Ok();
    if (!value.isArray()) return Status::InvalidArgument(path + ": expected a JSON array");
    capnp::Type element = type.asList().getElementType();
    size_t i = 0;
    for (auto item : value.getArray()) {
      MULIN_RETURN_IF_ERROR(CheckValue(item, element, path + "[" + std::to_string(i++) + "]"));
    }
  }
  return Status::Ok();
}

}  // namespace

Status CheckJsonFields(capnp::json::Value::Reader value, capnp::StructSchema schema,
                       const std::string& path) {
  if (!value.isObject()) {
    return Status::InvalidArgument((path.empty() ? "the command" : path) +
                                   " must be a JSON object");
  }
  size_t union_members = 0;
  for (auto field : value.getObject()) {
    const std::string key = field.getName();
    KJ_IF_MAYBE (schema_field, schema.findFieldByName(key)) {
      if (schema_field->getProto().getDiscriminantValue() !=
          capnp::schema::Field::NO_DISCRIMINANT) {
        ++union_members;
      }
      capnp::Type type = schema_field->getType();
      MULIN_RETURN_IF_ERROR(CheckValue(field.getValue(), type, Join(path, key)));
    } else {
      return Status::InvalidArgument("unknown field '" + Join(path, key) + "'");
    }
  }
  if (schema.getUnionFields().size() > 0 && union_members != 1) {
    std::string members;
    for (auto f : schema.getUnionFields()) {
      if (members.size() > 200) break;
      members += std::string(members.empty() ? "" : ", ") + f.getProto().getName().cStr();
    }
    return Status::InvalidArgument((path.empty() ? std::string("the command") : "'" + path + "'") +
                                   " needs exactly one of: " + members);
  }
  // A group (like Command.body) is a struct-typed field in JSON: require it where it is the only
  // way to say what the command is.
  for (auto field : schema.getNonUnionFields()) {
    if (field.getProto().isGroup() && field.getType().asStruct().getUnionFields().size() > 0) {
      bool present = false;
      for (auto given : value.getObject()) {
        present = present || given.getName() == field.getProto().getName();
      }
      if (!present) {
        return Status::InvalidArgument(
            "missing '" + Join(path, field.getProto().getName().cStr()) +
            "': say what the command is, e.g. \"body\":{\"redeem\":{...}}");
      }
    }
  }
  return Status::Ok();
}

}  // namespace mulin::cli
