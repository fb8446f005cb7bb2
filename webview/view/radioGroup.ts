// A labelled vscode-radio-group of string choices that reports every change of choice, by
// mouse or by keyboard.
import { h } from '../dom.js';

export interface RadioGroup<T extends string> {
  readonly element: HTMLElement;
  /**
   * Checks `value` without reporting it. An `implied` value is shown but not yet chosen:
   * clicking it then reports it as a choice.
   */
  set(value: T, implied?: boolean): void;
}

export function radioGroup<T extends string>(label: string, name: string, choices: readonly (readonly [T, string])[], changed: (value: T) => void): RadioGroup<T> {
  const radios = choices.map(([value, text]) => h('vscode-radio', { name, value, label: text }, text));
  const element = h('vscode-radio-group', { 'aria-label': label, 'data-group': name }, ...radios);
  let current: T | undefined;
  // The group checks a radio on arrow keys without a change event, so read the choice after keys
  // too; and after clicks, since clicking the radio already shown as implied fires no change.
  const sync = (): void => {
    const i = radios.findIndex((r) => r.checked);
    if (i >= 0 && choices[i][0] !== current) {
      current = choices[i][0];
      changed(current);
    }
  };
  element.addEventListener('change', sync);
  element.addEventListener('keydown', sync);
  element.addEventListener('click', sync);
  return {
    element,
    set(value, implied = false) {
      current = implied ? undefined : value;
      radios.forEach((r, i) => { r.checked = choices[i][0] === value; });
    },
  };
}
