package ai.taco.core.weights;

import ai.taco.core.error.WeightsException;
import java.util.ArrayDeque;
import java.util.Collection;
import java.util.IdentityHashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;

/**
 * Walks an unpickled object graph without recursion and visiting each container once (by identity), so neither
 * deep nesting nor shared sub-containers ({@code [prev, prev]} repeated, 2^depth paths) cost more than linear time or
 * any stack.
 */
final class PickleGraph {
  /**
   * Deepest container nesting accepted. A checkpoint is a few dicts deep (checkpoint, state dict, optimizer state,
   * param groups); Python's own pickler fails beyond its recursion limit of 1000.
   */
  static final int MAX_DEPTH = 100;

  private PickleGraph() {}

  /**
   * Throws unless the graph is acyclic and at most {@link #MAX_DEPTH} containers deep; message without the file name.
   */
  static void check(Object root) {
    // 1 = on the current path, 2 = done.
    IdentityHashMap<Object, Integer> state = new IdentityHashMap<>();
    ArrayDeque<Iterator<?>> path = new ArrayDeque<>();
    ArrayDeque<Object> nodes = new ArrayDeque<>();
    if (children(root) == null) {
      return;
    }
    nodes.push(root);
    path.push(children(root));
    state.put(root, 1);
    while (!path.isEmpty()) {
      Iterator<?> it = path.peek();
      if (!it.hasNext()) {
        path.pop();
        state.put(nodes.pop(), 2);
        continue;
      }
      Object child = it.next();
      Iterator<?> grand = children(child);
      if (grand == null) {
        continue;
      }
      Integer s = state.get(child);
      if (s != null) {
        if (s == 1) {
          throw new WeightsException("pickled object contains itself (a cyclic structure; checkpoints have none)");
        }
        continue;
      }
      if (path.size() >= MAX_DEPTH) {
        throw new WeightsException("pickled objects nested deeper than " + MAX_DEPTH + " levels");
      }
      state.put(child, 1);
      nodes.push(child);
      path.push(grand);
    }
  }

  /**
   * Replaces, in place, every value of the (checked, acyclic) graph for which {@code replace} returns another object,
   * visiting each container once.
   */
  @SuppressWarnings("unchecked")
  static Object replaceAll(Object root, UnaryOperator<Object> replace) {
    Object r = replace.apply(root);
    if (r != root) {
      return r;
    }
    IdentityHashMap<Object, Boolean> seen = new IdentityHashMap<>();
    ArrayDeque<Object> todo = new ArrayDeque<>();
    todo.push(root);
    seen.put(root, true);
    while (!todo.isEmpty()) {
      Object o = todo.pop();
      if (o instanceof Map<?, ?> m) {
        for (Map.Entry<Object, Object> e : ((Map<Object, Object>) m).entrySet()) {
          e.setValue(visit(e.getValue(), replace, seen, todo));
        }
      } else if (o instanceof List<?> l) {
        List<Object> list = (List<Object>) l;
        for (int i = 0; i < list.size(); i++) {
          list.set(i, visit(list.get(i), replace, seen, todo));
        }
      } else if (o instanceof Object[] a) {
        for (int i = 0; i < a.length; i++) {
          a[i] = visit(a[i], replace, seen, todo);
        }
      } else if (o instanceof TorchCheckpoint.PyObject p) {
        for (Object arg : p.args()) {
          visit(arg, replace, seen, todo);
        }
      }
    }
    return root;
  }

  private static Object visit(
      Object v, UnaryOperator<Object> replace, IdentityHashMap<Object, Boolean> seen, ArrayDeque<Object> todo) {
    Object r = replace.apply(v);
    if (r == v && children(v) != null && seen.put(v, true) == null) {
      todo.push(v);
    }
    return r;
  }

  /** The values a container holds (map values: keys are scalars, see {@link PickleScan}); null for scalars. */
  private static Iterator<?> children(Object o) {
    if (o instanceof Map<?, ?> m) {
      return m.values().iterator();
    }
    if (o instanceof Collection<?> c) {
      return c.iterator();
    }
    if (o instanceof Object[] a) {
      return java.util.Arrays.asList(a).iterator();
    }
    if (o instanceof TorchCheckpoint.PyObject p) {
      return p.args().iterator();
    }
    return null;
  }
}
