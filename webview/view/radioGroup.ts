// A labelled vscode-radio-group of string choices that reports every change of choice, by
// mouse or by keyboard.
import { h } from '../dom.js';

export interface RadioGroup<T extends string> {
  readonly element: HTMLElement;
  /** Checks `value` without reporting it. */
  set(value: T): void;
}

export function radioGroup<T extends string>(label: string, name: string, choices: readonly (readonly [T, string])[], changed: (value: T) => void): RadioGroup<T> {
  const radios = choices.map(([value, text]) => h('vscode-radio', { name, value, label: text }, text));
  const element = h('vscode-radio-group', { 'aria-label': label, 'data-group': name }, ...radios);
  let current: T | undefined;
  // The group checks a radio on arrow keys without a change event, so read the choice after keys too.
  const sync = (): void => {
    const i = radios.findIndex((r) => r.checked);
    if (i >= 0 && choices[i][0] !== current) {
      current = choices[i][0];
      changed(current);
    }
  };
  element.addEventListener('change', sync);
  element.addEventListener('keydown', sync);
  return {
    element,
    set(value) {
      current = value;
      radios.forEach((r, i) => { r.checked = choices[i][0] === value; });
    },
  };
}
