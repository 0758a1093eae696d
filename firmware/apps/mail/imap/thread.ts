/**
 * THREAD (RFC 5256): ORDEREDSUBJECT, and REFERENCES — Jamie Zawinski's algorithm as the RFC
 * words it: link messages by Message-ID, References and In-Reply-To, prune empty containers,
 * gather roots with the same base subject, order siblings by sent date.
 */
import { messageIds } from '../message/index.js';
import { baseSubject, isReplySubject } from './base-subject.js';
import type { LoadedMessage } from './messages.js';

export class ThreadNode {
  parent: ThreadNode | undefined;
  readonly children: ThreadNode[] = [];
  constructor(
    /** Undefined for a dummy: a message that was referred to but is not here. */
    public uid: number | undefined,
    public date = 0,
    public subject = '',
    public reply = false,
  ) {}

  /** The thread in RFC 5256 syntax: `(3 6 (4 23)(44 7 96))`. */
  render(number: (uid: number) => number): string {
    return `(${this.members(number)})`;
  }

  private members(number: (uid: number) => number): string {
    const own = this.uid === undefined ? [] : [String(number(this.uid))];
    if (this.children.length === 1) return [...own, this.children[0].members(number)].join(' ');
    const nested = this.children.map((child) => child.render(number)).join('');
    return [...own, nested].filter((part) => part !== '').join(' ');
  }

  /** The date that orders this node among its siblings (a dummy takes its first child's). */
  sortDate(): number {
    return this.uid === undefined && this.children.length > 0 ? this.children[0].sortDate() : this.date;
  }

  isAncestorOf(node: ThreadNode): boolean {
    for (let at = node.parent; at !== undefined; at = at.parent) if (at === this) return true;
    return false;
  }
}

export function threadMessages(algorithm: 'REFERENCES' | 'ORDEREDSUBJECT', uids: readonly number[], load: (uid: number) => LoadedMessage | undefined): ThreadNode[] {
  const facts = uids.map((uid): Facts => {
    const parsed = load(uid)?.parsed;
    return {
      uid,
      date: parsed?.sentDate ?? 0,
      subject: parsed?.headers.subject,
      messageId: messageIds(parsed?.headers.messageId)[0],
      references: messageIds(parsed?.headers.references),
      inReplyTo: messageIds(parsed?.headers.inReplyTo)[0],
    };
  });
  return algorithm === 'ORDEREDSUBJECT' ? orderedSubject(facts) : references(facts);
}

/** What threading reads of a message. */
interface Facts {
  uid: number;
  date: number;
  subject: string | undefined;
  messageId: string | undefined;
  references: string[];
  inReplyTo: string | undefined;
}

const bySentDate = (a: ThreadNode, b: ThreadNode) => a.sortDate() - b.sortDate() || (a.uid ?? 0) - (b.uid ?? 0);

function orderedSubject(facts: Facts[]): ThreadNode[] {
  const groups = new Map<string, ThreadNode>();
  const sorted = [...facts].sort((a, b) => baseSubject(a.subject).localeCompare(baseSubject(b.subject)) || a.date - b.date || a.uid - b.uid);
  const roots: ThreadNode[] = [];
  for (const fact of sorted) {
    const node = new ThreadNode(fact.uid, fact.date);
    const key = baseSubject(fact.subject);
    const root = groups.get(key);
    if (root === undefined) {
      groups.set(key, node);
      roots.push(node);
    } else {
      node.parent = root;
      root.children.push(node);
    }
  }
  return roots.sort(bySentDate);
}

function references(facts: Facts[]): ThreadNode[] {
  const byId = new Map<string, ThreadNode>();
  const container = (id: string) => {
    let node = byId.get(id);
    if (node === undefined) byId.set(id, (node = new ThreadNode(undefined)));
    return node;
  };
  const link = (parent: ThreadNode, child: ThreadNode) => {
    if (child.parent === parent || child === parent || child.isAncestorOf(parent)) return;
    if (child.parent !== undefined) child.parent.children.splice(child.parent.children.indexOf(child), 1);
    child.parent = parent;
    parent.children.push(child);
  };
  const all: ThreadNode[] = [];
  for (const fact of facts) {
    // A missing or duplicate Message-ID gets a container of its own.
    let node = fact.messageId === undefined ? undefined : byId.get(fact.messageId);
    if (node === undefined || node.uid !== undefined) {
      node = new ThreadNode(fact.uid);
      if (fact.messageId !== undefined && !byId.has(fact.messageId)) byId.set(fact.messageId, node);
    }
    node.uid = fact.uid;
    node.date = fact.date;
    node.subject = baseSubject(fact.subject);
    node.reply = isReplySubject(fact.subject);
    all.push(node);
    const refs = fact.references.length > 0 ? fact.references : fact.inReplyTo === undefined ? [] : [fact.inReplyTo];
    const chain = refs.map(container);
    for (let i = 0; i + 1 < chain.length; i++) if (chain[i + 1].parent === undefined) link(chain[i], chain[i + 1]);
    const last = chain[chain.length - 1];
    if (last !== undefined) link(last, node);
  }
  const roots = new Set<ThreadNode>();
  for (const node of [...byId.values(), ...all]) {
    let top = node;
    while (top.parent !== undefined) top = top.parent;
    roots.add(top);
  }
  let rootList = prune([...roots], true);
  rootList = gatherBySubject(rootList);
  const sortTree = (nodes: ThreadNode[]) => {
    nodes.sort(bySentDate);
    for (const node of nodes) sortTree(node.children);
  };
  // Children first, so a dummy's date is its earliest child's.
  for (const root of rootList) sortTree(root.children);
  return rootList.sort(bySentDate);
}

/** Drops empty dummies and promotes a dummy's children (at the root, only a single child). */
function prune(nodes: ThreadNode[], atRoot: boolean): ThreadNode[] {
  const out: ThreadNode[] = [];
  for (const node of nodes) {
    const children = prune(node.children, false);
    node.children.length = 0;
    node.children.push(...children);
    if (node.uid !== undefined) {
      out.push(node);
    } else if (children.length === 0) {
      continue;
    } else if (!atRoot || children.length === 1) {
      for (const child of children) child.parent = node.parent;
      out.push(...children);
    } else {
      out.push(node);
    }
  }
  return out;
}

/** RFC 5256 2.2 step 5: roots with the same base subject become one thread. */
function gatherBySubject(roots: ThreadNode[]): ThreadNode[] {
  const subjectOf = (node: ThreadNode) => (node.uid !== undefined ? node.subject : (node.children[0]?.subject ?? ''));
  const table = new Map<string, ThreadNode>();
  for (const root of roots) {
    const subject = subjectOf(root);
    if (subject === '') continue;
    const held = table.get(subject);
    // Prefer a dummy, then a non-reply, as the thread's head.
    if (held === undefined || (root.uid === undefined && held.uid !== undefined) || (held.reply && !root.reply && held.uid !== undefined && root.uid !== undefined)) table.set(subject, root);
  }
  const out: ThreadNode[] = [];
  for (const root of roots) {
    // Already placed under a dummy made for an earlier root of the same subject.
    if (root.parent !== undefined) continue;
    const subject = subjectOf(root);
    const head = subject === '' ? undefined : table.get(subject);
    if (head === undefined || head === root) {
      out.push(root);
      continue;
    }
    if (head.uid === undefined && root.uid === undefined) {
      for (const child of root.children) adopt(head, child);
    } else if (head.uid === undefined) {
      adopt(head, root);
    } else if (!head.reply && root.reply) {
      adopt(head, root);
    } else {
      // Neither is clearly the parent: both go under a new dummy in the head's place.
      const dummy = new ThreadNode(undefined);
      const at = out.indexOf(head);
      adopt(dummy, head);
      adopt(dummy, root);
      table.set(subject, dummy);
      if (at >= 0) out[at] = dummy;
      else out.push(dummy);
    }
  }
  return out;
}

function adopt(parent: ThreadNode, child: ThreadNode): void {
  child.parent = parent;
  parent.children.push(child);
}
