/**
 * OpenTok's event model: event objects with `type`, `target`, `cancelable` and
 * `preventDefault()` / `isDefaultPrevented()`, and emitters taking `on/once/off(name, fn, ctx)`
 * or a map `on({name: fn}, ctx)`.
 */
export class OTEvent<Type extends string = string, Target = unknown> {
  private prevented = false;

  constructor(
    readonly type: Type,
    readonly target: Target,
    readonly cancelable = false,
  ) {}

  /** Cancels the default action (only of a cancelable event: e.g. keeps a destroyed stream's element). */
  preventDefault(): void {
    if (this.cancelable) this.prevented = true;
  }

  isDefaultPrevented(): boolean {
    return this.prevented;
  }
}

/** An event of this type and target, with these properties. */
export type EventOf<Type extends string, Target, Props = unknown> = OTEvent<Type, Target> & Props;

/** Makes an event and gives it its properties. */
export function makeEvent<Type extends string, Target, Props extends object>(
  type: Type,
  target: Target,
  props: Props,
  cancelable = false,
): EventOf<Type, Target, Props> {
  return Object.assign(new OTEvent(type, target, cancelable), props);
}

type Handler = (event: any) => void;
interface Listener {
  fn: Handler;
  ctx: object | undefined;
  once: boolean;
}

/** Bounds the listeners of one event name, so a page that adds one per render cannot grow it forever. */
const MAX_LISTENERS_PER_EVENT = 1000;

export class OTEventEmitter<Events extends object> {
  private readonly listeners = new Map<string, Listener[]>();

  on<K extends keyof Events & string>(name: K, fn: (event: Events[K]) => void, ctx?: object): this;
  on(name: string, fn: (event: OTEvent<string, any>) => void, ctx?: object): this;
  on(map: Partial<{ [K in keyof Events]: (event: Events[K]) => void }>, ctx?: object): this;
  on(name: string | object, fn?: Handler | object, ctx?: object): this {
    return this.add(name, fn, ctx, false);
  }

  once<K extends keyof Events & string>(name: K, fn: (event: Events[K]) => void, ctx?: object): this;
  once(name: string, fn: (event: OTEvent<string, any>) => void, ctx?: object): this;
  once(map: Partial<{ [K in keyof Events]: (event: Events[K]) => void }>, ctx?: object): this;
  once(name: string | object, fn?: Handler | object, ctx?: object): this {
    return this.add(name, fn, ctx, true);
  }

  /** Without arguments removes every listener; with a name only, that event's; else the one given. */
  off<K extends keyof Events & string>(name?: K, fn?: (event: Events[K]) => void, ctx?: object): this;
  off(name?: string, fn?: (event: OTEvent<string, any>) => void, ctx?: object): this;
  off(map: Partial<{ [K in keyof Events]: (event: Events[K]) => void }>, ctx?: object): this;
  off(name?: string | object, fn?: Handler | object, ctx?: object): this {
    if (name === undefined) {
      this.listeners.clear();
      return this;
    }
    if (typeof name === 'object') {
      for (const [n, f] of Object.entries(name)) this.remove(n, f as Handler, fn as object | undefined);
      return this;
    }
    if (typeof fn !== 'function') this.listeners.delete(name);
    else this.remove(name, fn as Handler, ctx);
    return this;
  }

  /** @internal Delivers an event to its listeners; returns it, so the caller can see whether its default was prevented. */
  dispatch<E extends OTEvent<string, any>>(event: E, name: string = event.type): E {
    const list = this.listeners.get(name);
    if (!list) return event;
    for (const l of [...list]) {
      if (l.once) this.remove(name, l.fn, l.ctx);
      try {
        l.fn.call(l.ctx ?? this, event);
      } catch (err) {
        // An application handler that throws must not stop the others, nor the facade's own bookkeeping.
        queueMicrotask(() => {
          throw err;
        });
      }
    }
    return event;
  }

  private add(
    name: string | object,
    fn: Handler | object | undefined,
    ctx: object | undefined,
    once: boolean,
  ): this {
    if (typeof name === 'object') {
      for (const [n, f] of Object.entries(name)) this.add(n, f as Handler, fn as object | undefined, once);
      return this;
    }
    if (typeof fn !== 'function') throw new TypeError(`on('${name}'): the handler must be a function`);
    let list = this.listeners.get(name);
    if (!list) this.listeners.set(name, (list = []));
    if (list.length >= MAX_LISTENERS_PER_EVENT)
      throw new RangeError(
        `more than ${MAX_LISTENERS_PER_EVENT} listeners of '${name}': remove some with off()`,
      );
    list.push({ fn: fn as Handler, ctx, once });
    return this;
  }

  private remove(name: string, fn: Handler, ctx: object | undefined): void {
    const list = this.listeners.get(name);
    if (!list) return;
    const i = list.findIndex((l) => l.fn === fn && (ctx === undefined || l.ctx === ctx));
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) this.listeners.delete(name);
  }
}
