// The code editor of ta-rules studio: CodeMirror 6 with YAML highlighting, diagnostics
// (lint) and line highlights for the rules a claim applied. Bundled by `npm run build`
// into ta_rules/studio/static/editor.js, which the studio serves itself.
import {EditorState, StateEffect, StateField, RangeSetBuilder} from "@codemirror/state";
import {EditorView, Decoration, keymap, lineNumbers, highlightActiveLine,
        highlightActiveLineGutter, drawSelection} from "@codemirror/view";
import {defaultKeymap, history, historyKeymap, indentWithTab} from "@codemirror/commands";
import {syntaxHighlighting, defaultHighlightStyle, indentOnInput,
        bracketMatching} from "@codemirror/language";
import {searchKeymap, highlightSelectionMatches} from "@codemirror/search";
import {lintGutter, setDiagnostics, forEachDiagnostic} from "@codemirror/lint";
import {yaml} from "@codemirror/lang-yaml";

const setApplied = StateEffect.define();
const appliedField = StateField.define({
  create() { return Decoration.none; },
  update(deco, tr) {
    deco = deco.map(tr.changes);
    for (const e of tr.effects) if (e.is(setApplied)) deco = e.value;
    return deco;
  },
  provide: f => EditorView.decorations.from(f),
});
const appliedLine = Decoration.line({attributes: {class: "ta-applied"}});

function offsetOf(doc, line, column) {
  const l = doc.line(Math.min(Math.max(line, 1), doc.lines));
  return Math.min(l.from + Math.max(column - 1, 0), l.to);
}

export function create(parent, {doc = "", onChange = () => {}} = {}) {
  const view = new EditorView({
    parent,
    state: EditorState.create({
      doc,
      extensions: [
        lineNumbers(), highlightActiveLineGutter(), history(), drawSelection(),
        indentOnInput(), bracketMatching(), highlightActiveLine(),
        highlightSelectionMatches(), syntaxHighlighting(defaultHighlightStyle),
        yaml(), lintGutter(), appliedField,
        keymap.of([...defaultKeymap, ...historyKeymap, ...searchKeymap, indentWithTab]),
        EditorView.updateListener.of(u => { if (u.docChanged) onChange(u.state.doc.toString()); }),
      ],
    }),
  });
  return {
    view,
    getText() { return view.state.doc.toString(); },
    setText(text) {
      view.dispatch({changes: {from: 0, to: view.state.doc.length, insert: text}});
    },
    // [{line, column, severity, message}] with 1-based line and column
    setDiagnostics(items) {
      const d = view.state.doc;
      view.dispatch(setDiagnostics(view.state, items.map(p => {
        const from = offsetOf(d, p.line || 1, p.column || 1);
        const end = d.lineAt(from).to;
        return {from, to: Math.max(end, from), severity: p.severity === "warning" ? "warning" : "error",
                message: p.message};
      })));
    },
    diagnosticLines() {
      const lines = [];
      forEachDiagnostic(view.state, (d, from) => lines.push(view.state.doc.lineAt(from).number));
      return lines;
    },
    // highlight whole lines (1-based) and scroll the first into view
    highlightLines(lines) {
      const d = view.state.doc;
      const builder = new RangeSetBuilder();
      for (const n of [...new Set(lines)].filter(n => n >= 1 && n <= d.lines).sort((a, b) => a - b))
        builder.add(d.line(n).from, d.line(n).from, appliedLine);
      view.dispatch({effects: setApplied.of(builder.finish())});
    },
    goTo(line, column = 1) {
      const pos = offsetOf(view.state.doc, line, column);
      view.dispatch({selection: {anchor: pos}, effects: EditorView.scrollIntoView(pos, {y: "center"})});
      view.focus();
    },
  };
}
