// Building and updating the page's live tables.
//
// A live table (open orders, positions, the book, lending) is redrawn on every stream update. Swapping
// its rows for new ones would lose what the user is doing in them: a click on "Cancel" whose button is
// replaced between mouse-down and mouse-up never fires, a half-typed amount loses focus. So tables are
// updated with `patchChildren`: each freshly built row is matched by key to the row already shown, which
// is kept and brought up to date in place (attributes, text, nested elements); only new rows are inserted
// and gone ones removed. Kept elements keep their own event listeners, so a row's handlers must look up
// what they act on when they run (by the row's key), never hold a copy of data that changes.

/** A new element: `class`, `dataset`, `on<event>` listeners and plain attributes, then children. */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') node.className = v;
    else if (k === 'dataset') Object.assign(node.dataset, v);
    else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v);
  }
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(c ?? ''));
  return node;
}

/** Make `dst` look like `src` while keeping `dst` (and, where shapes match, its descendants) in the page.
 * Returns false when `dst` cannot become `src` (another tag or node type): the caller replaces it. */
function morph(dst, src) {
  if (dst.nodeType !== src.nodeType || dst.nodeName !== src.nodeName) return false;
  if (dst.nodeType !== Node.ELEMENT_NODE) {
    if (dst.nodeValue !== src.nodeValue) dst.nodeValue = src.nodeValue;
    return true;
  }
  for (const { name } of [...dst.attributes]) if (!src.hasAttribute(name)) dst.removeAttribute(name);
  for (const { name, value } of src.attributes) if (dst.getAttribute(name) !== value) dst.setAttribute(name, value);
  const from = [...dst.childNodes];
  const to = [...src.childNodes];
  if (from.length !== to.length) {
    dst.replaceChildren(...to);
    return true;
  }
  for (let i = 0; i < to.length; i += 1) if (!morph(from[i], to[i])) dst.replaceChild(to[i], from[i]);
  return true;
}

/** Show `rows` (freshly built, in order) in `parent`, keeping the shown row with the same `keyOf(row)`. */
export function patchChildren(parent, rows, keyOf) {
  const shown = new Map();
  for (const node of parent.children) shown.set(keyOf(node), node);
  const keep = new Set();
  rows.forEach((row, i) => {
    const old = shown.get(keyOf(row));
    const node = old && !keep.has(old) && morph(old, row) ? old : row;
    keep.add(node);
    const at = parent.children[i];
    if (at !== node) parent.insertBefore(node, at || null);
  });
  for (const node of [...parent.children]) if (!keep.has(node)) node.remove();
}
