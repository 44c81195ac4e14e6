// Structural ops: plan inputs and literal constants. The binder resolves them itself
// (they have no kernel); they are registered so the plan format has one op namespace.
#include "featureplat/registry.h"
#include "ops/kernel_util.h"

namespace featureplat {
namespace {

Result<Binding> resolve_structural(const std::vector<DType>&, const Params&) {
  return ops::plan_error("structural op resolved outside the binder");
}

}  // namespace

void register_structural_ops(Registry& r) {
  {
    OpDef d;
    d.name = "input";
    d.family = "structural";
    d.signature = "input(index: int) -> declared type";
    d.doc = "The declared input `index`, converted to its declared type (the same conversion "
            "on the batch and row paths: integers widen, float32 widens exactly, timestamps "
            "in any unit become microseconds, a value that does not fit is an error).";
    d.params = {{"index", ParamKind::kInt, true}};
    d.resolve = resolve_structural;
    r.add(d);
  }
  {
    OpDef d;
    d.name = "const";
    d.family = "structural";
    d.signature = "const(value: scalar) -> type of value";
    d.doc = "A literal value broadcast to every row; an untyped null literal takes the type "
            "its use requires.";
    d.params = {{"value", ParamKind::kScalar, true}};
    d.resolve = resolve_structural;
    r.add(d);
  }
}

}  // namespace featureplat
