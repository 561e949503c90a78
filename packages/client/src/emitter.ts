/** A small typed event emitter that runs in browsers and Node alike. */
export class Emitter<Events extends object> {
  private readonly handlers = new Map<keyof Events, Set<(event: never) => void>>();

  on<K extends keyof Events>(name: K, handler: (event: Events[K]) => void): this {
    let set = this.handlers.get(name);
    if (!set) this.handlers.set(name, (set = new Set()));
    set.add(handler as (event: never) => void);
    return this;
  }

  once<K extends keyof Events>(name: K, handler: (event: Events[K]) => void): this {
    const wrapped = (event: Events[K]) => {
      this.off(name, wrapped);
      handler(event);
    };
    return this.on(name, wrapped);
  }

  off<K extends keyof Events>(name: K, handler: (event: Events[K]) => void): this {
    this.handlers.get(name)?.delete(handler as (event: never) => void);
    return this;
  }

  /** Resolves with the next event of this name. */
  next<K extends keyof Events>(name: K): Promise<Events[K]> {
    return new Promise((resolve) => this.once(name, resolve));
  }

  protected emit<K extends keyof Events>(name: K, event: Events[K]): void {
    const set = this.handlers.get(name);
    if (!set) return;
    for (const handler of [...set]) {
      try {
        (handler as (event: Events[K]) => void)(event);
      } catch (err) {
        // An application handler that throws must not break the SDK's own bookkeeping.
        queueMicrotask(() => {
          throw err;
        });
      }
    }
  }
}
