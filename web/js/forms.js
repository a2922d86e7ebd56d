// Forms generated from JSON schemas (pydantic's): the start executor's input and approval responses.
// The server validates; its 400 `errors: [{field, message}]` are shown next to the named field.

import { append, h } from "./dom.js";

let uid = 0;

function resolve(schema, root) {
  let out = schema || {};
  for (let guard = 0; out.$ref && guard < 20; guard++) {
    const name = out.$ref.replace(/^#\/(\$defs|definitions)\//, "");
    const { $ref, ...rest } = out;
    out = { ...((root.$defs || root.definitions || {})[name] || {}), ...rest };
  }
  const union = out.anyOf || out.oneOf;
  if (union) {
    const options = union.filter((o) => o.type !== "null");
    if (options.length === 1) {
      const { anyOf, oneOf, ...rest } = out;
      return { ...resolve(options[0], root), ...rest, nullable: options.length < union.length };
    }
  }
  if (out.allOf && out.allOf.length === 1) {
    const { allOf, ...rest } = out;
    return { ...resolve(allOf[0], root), ...rest };
  }
  return out;
}

function kindOf(schema) {
  if (schema.enum || schema.const !== undefined) return "enum";
  if (schema.anyOf || schema.oneOf) return "json";
  const type = Array.isArray(schema.type) ? schema.type.find((t) => t !== "null") : schema.type;
  if (type === "object" && schema.properties) return "object";
  if (["string", "number", "integer", "boolean"].includes(type)) return type;
  return "json";
}

function hint(schema, kind, shape = "") {
  const bits = [];
  if (schema.description) bits.push(schema.description);
  if (kind === "number" || kind === "integer") {
    if (schema.minimum !== undefined) bits.push(`at least ${schema.minimum}`);
    if (schema.exclusiveMinimum !== undefined) bits.push(`more than ${schema.exclusiveMinimum}`);
    if (schema.maximum !== undefined) bits.push(`at most ${schema.maximum}`);
    if (schema.exclusiveMaximum !== undefined) bits.push(`less than ${schema.exclusiveMaximum}`);
    if (kind === "integer") bits.push("whole number");
  }
  if (kind === "string") {
    if (schema.minLength) bits.push(`${schema.minLength}+ characters`);
    if (schema.maxLength) bits.push(`up to ${schema.maxLength} characters`);
    if (schema.pattern) bits.push(`format ${schema.pattern}`);
  }
  if (kind === "json") bits.push(["JSON", shape].filter(Boolean).join(": "));
  if (schema.examples?.length && kind !== "object") bits.push(`e.g. ${JSON.stringify(schema.examples[0])}`);
  return bits.join(" · ");
}

/**
 * An example value built from `schema` alone, for a field the form can only offer as JSON (a list of
 * objects, say): every property with its default or a value of its type within its bounds, a list with
 * one such item. The text says what shape is expected better than an empty box.
 */
export function exampleOf(schema, root, name = "value", depth = 0) {
  const s = resolve(schema, root);
  const given = initial(s, undefined);
  if (given !== undefined) return given;
  if (depth > 8) return null;
  if (s.enum) return s.enum[0];
  const union = (s.anyOf || s.oneOf || []).filter((o) => o.type !== "null");
  if (union.length) return exampleOf(union[0], root, name, depth + 1);
  const type = Array.isArray(s.type) ? s.type.find((t) => t !== "null") : s.type;
  switch (type) {
    case "object":
      return Object.fromEntries(Object.entries(s.properties || {}).map(([key, sub]) => [key, exampleOf(sub, root, key, depth + 1)]));
    case "array": {
      const count = Math.min(Math.max(s.minItems || 1, 1), 3);
      return Array.from({ length: count }, () => exampleOf(s.items || {}, root, name, depth + 1));
    }
    case "integer":
    case "number": {
      let n = s.minimum ?? (s.exclusiveMinimum !== undefined ? s.exclusiveMinimum + 1 : 1);
      if (s.maximum !== undefined) n = Math.min(n, s.maximum);
      return type === "integer" ? Math.ceil(n) : n;
    }
    case "boolean":
      return false;
    case "string": {
      if (s.format === "date-time") return new Date().toISOString();
      if (s.format === "date") return new Date().toISOString().slice(0, 10);
      const text = name.padEnd(s.minLength || 0, "x");
      return s.maxLength ? text.slice(0, s.maxLength) : text;
    }
    default:
      return null;
  }
}

/** What a JSON field expects, in words: "a list of objects: sku (text), qty (whole number)". */
function shapeOf(schema, root) {
  const s = resolve(schema, root);
  const words = { string: "text", integer: "whole number", number: "number", boolean: "true/false", array: "list", object: "object" };
  const type = Array.isArray(s.type) ? s.type.find((t) => t !== "null") : s.type;
  const fields = (o) => Object.entries(o.properties || {}).map(([k, sub]) => {
    const r = resolve(sub, root);
    const t = Array.isArray(r.type) ? r.type.find((x) => x !== "null") : r.type;
    return `${k} (${words[t] || "JSON"})`;
  }).join(", ");
  if (type === "array") {
    const item = resolve(s.items || {}, root);
    return item.properties ? `a list of objects: ${fields(item)}` : `a list of ${words[item.type] || "values"}`;
  }
  if (type === "object" && s.properties) return `an object: ${fields(s)}`;
  return "";
}

function initial(schema, example) {
  if (example !== undefined) return example;
  if (schema.default !== undefined) return schema.default;
  if (schema.examples?.length) return schema.examples[0];
  if (schema.const !== undefined) return schema.const;
  return undefined;
}

class Field {
  constructor(path, schema, root, required, example, skip) {
    this.path = path;
    this.schema = resolve(schema, root);
    this.kind = kindOf(this.schema);
    this.required = required;
    this.id = `f${++uid}-${path.replace(/[^A-Za-z0-9_-]/g, "_") || "root"}`;
    this.children = [];
    const title = this.schema.title || path.split(".").pop() || "value";
    const value = initial(this.schema, example);
    if (this.kind === "object") {
      const req = new Set(this.schema.required || []);
      const legend = path ? h("legend", {}, title, required ? h("span", { class: "req", "aria-hidden": "true" }, " *") : null) : null;
      this.error = h("p", { class: "error", id: `${this.id}-error`, hidden: true });
      this.el = h("fieldset", { class: path ? "group" : "root", "data-field": path }, legend, this.error);
      for (const [name, sub] of Object.entries(this.schema.properties)) {
        if (skip?.has(name) && !path) continue;
        const childPath = path ? `${path}.${name}` : name;
        const child = new Field(childPath, sub, root, req.has(name), value?.[name], null);
        this.children.push([name, child]);
        this.el.append(child.el);
      }
      return;
    }
    const hintText = hint(this.schema, this.kind, this.kind === "json" ? shapeOf(this.schema, root) : "");
    const hintId = hintText ? `${this.id}-hint` : null;
    const errorId = `${this.id}-error`;
    const describedBy = [hintId, errorId].filter(Boolean).join(" ");
    const common = { id: this.id, name: path, "aria-describedby": describedBy, "aria-required": required ? "true" : null };
    if (this.kind === "boolean") {
      this.input = h("input", { ...common, type: "checkbox", checked: value === true });
    } else if (this.kind === "enum") {
      const options = this.schema.enum || [this.schema.const];
      this.input = h(
        "select",
        common,
        required ? null : h("option", { value: "" }, "—"),
        options.map((o, i) => h("option", { value: String(i), selected: JSON.stringify(o) === JSON.stringify(value) }, String(o))),
      );
      this.options = options;
    } else if (this.kind === "number" || this.kind === "integer") {
      this.input = h("input", {
        ...common,
        type: "number",
        inputmode: this.kind === "integer" ? "numeric" : "decimal",
        step: this.kind === "integer" ? "1" : "any",
        min: this.schema.minimum,
        max: this.schema.maximum,
        value: value ?? "",
      });
    } else if (this.kind === "string") {
      const long = (this.schema.maxLength || 0) > 200;
      this.input = long
        ? h("textarea", { ...common, rows: 3, maxlength: this.schema.maxLength })
        : h("input", { ...common, type: "text", autocomplete: "off", maxlength: this.schema.maxLength, spellcheck: "false" });
      this.input.value = value ?? "";
    } else {
      // Nothing given: an example built from the schema shows the shape the JSON must have, as the value
      // of a required field (to edit), as a placeholder of an optional one (left out unless filled in).
      const made = value === undefined ? exampleOf(this.schema, root, path.split(".").pop() || "value") : undefined;
      const example = made === undefined || made === null ? "" : JSON.stringify(made, null, 2);
      const text = value === undefined ? (required ? example : "") : JSON.stringify(value, null, 2);
      const lines = (text || example).split("\n").length;
      this.input = h("textarea", { ...common, rows: Math.min(Math.max(lines, 4), 14), class: "mono", spellcheck: "false", placeholder: required ? null : example || null });
      this.input.value = text;
      if (value === undefined && example) this.input.dataset.example = "schema";
    }
    this.error = h("p", { class: "error", id: errorId, hidden: true });
    const label = h("label", { for: this.id }, title, required ? h("span", { class: "req" }, " *", h("span", { class: "sr-only" }, " (required)")) : null);
    this.el = h(
      "div",
      { class: `field field-${this.kind}`, "data-field": path },
      this.kind === "boolean" ? h("div", { class: "check" }, this.input, label) : [label, this.input],
      hintText ? h("p", { class: "hint", id: hintId }, hintText) : null,
      this.error,
    );
  }

  /** The value, or undefined to leave the key out (the server then applies the default or says "required"). */
  read(problems) {
    if (this.kind === "object") {
      const out = {};
      for (const [name, child] of this.children) {
        const v = child.read(problems);
        if (v !== undefined) out[name] = v;
      }
      return out;
    }
    const raw = this.input.value;
    switch (this.kind) {
      case "boolean":
        return this.input.checked;
      case "enum":
        return raw === "" ? undefined : this.options[Number(raw)];
      case "number":
      case "integer": {
        if (raw.trim() === "") return undefined;
        const n = Number(raw);
        return Number.isFinite(n) ? n : raw; // let the server name what is wrong
      }
      case "string":
        return raw === "" && !this.required ? undefined : raw;
      default:
        if (raw.trim() === "") return undefined;
        try {
          return JSON.parse(raw);
        } catch (err) {
          problems.push({ field: this.path, message: `not valid JSON: ${err.message}` });
          return undefined;
        }
    }
  }

  *walk() {
    yield this;
    for (const [, child] of this.children) yield* child.walk();
  }
}

/**
 * A form for `schema`. Returns {form, read, showErrors, clearErrors}. `onSubmit(value, submitter)` is
 * called with the value read from the fields. `skip` leaves top-level properties out (for approve/reject).
 */
export function schemaForm(schema, { submitLabel = "Submit", onSubmit, skip = null, buttons = null, example } = {}) {
  const root = new Field("", schema, schema, true, example, skip);
  const general = h("div", { class: "form-error", role: "alert", hidden: true });
  const status = h("p", { class: "form-status", role: "status", "aria-live": "polite" });
  const actions = h(
    "div",
    { class: "actions" },
    buttons || h("button", { type: "submit", class: "primary" }, submitLabel),
  );
  const form = h("form", { class: "schema-form", novalidate: true }, general, root.el, actions, status);
  const fields = [...root.walk()];

  function clearErrors() {
    general.hidden = true;
    general.textContent = "";
    for (const f of fields) {
      f.error.hidden = true;
      f.error.textContent = "";
      f.input?.removeAttribute("aria-invalid");
      f.el.classList.remove("invalid");
    }
  }

  function showErrors(errors, message) {
    clearErrors();
    const unplaced = [];
    let first = null;
    for (const err of errors || []) {
      const path = String(err.field ?? "");
      let target = null;
      for (const f of fields) {
        if (!f.path) continue;
        if (path === f.path || path.startsWith(`${f.path}.`)) {
          if (!target || f.path.length > target.path.length) target = f;
        }
      }
      if (!target) {
        unplaced.push(err);
        continue;
      }
      const extra = path !== target.path ? ` (${path.slice(target.path.length + 1)})` : "";
      target.error.textContent = (target.error.textContent ? `${target.error.textContent}; ` : "") + err.message + extra;
      target.error.hidden = false;
      target.el.classList.add("invalid");
      target.input?.setAttribute("aria-invalid", "true");
      first = first || target;
    }
    if (message || unplaced.length) {
      general.hidden = false;
      append(
        general,
        [h("strong", {}, message || "The request was refused."),
        unplaced.length ? h("ul", {}, unplaced.map((e) => h("li", {}, e.field && e.field !== "(body)" ? `${e.field}: ` : "", e.message))) : null],
      );
    }
    (first?.input || (first ? first.el : general)).focus?.();
    if (!first && !general.hidden) {
      general.tabIndex = -1;
      general.focus();
    }
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const problems = [];
    const value = root.read(problems);
    if (problems.length) {
      showErrors(problems, "Please fix the highlighted fields.");
      return;
    }
    clearErrors();
    const busy = form.querySelectorAll("button");
    busy.forEach((b) => (b.disabled = true));
    status.textContent = "Sending…";
    try {
      await onSubmit(value, event.submitter, { showErrors, status });
    } finally {
      busy.forEach((b) => (b.disabled = false));
      if (status.textContent === "Sending…") status.textContent = "";
    }
  });
  return { form, showErrors, clearErrors, status };
}
