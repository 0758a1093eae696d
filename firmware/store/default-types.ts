/**
 * The content types every store starts with, by file extension, so that data written by
 * scripts and by the REST API merges sensibly between devices without configuration. Apps
 * register their own (mailbox, vCard, iCalendar) on top; a more specific pattern wins.
 */
import { counterType, jsonType, logType, lwwType, MergeRegistry, setType, textType } from './merge-types/index.js';

export function defaultMergeTypes(): MergeRegistry {
  const registry = new MergeRegistry();
  registry.register('**/*.counter', counterType);
  registry.register('**/*.set', setType);
  registry.register('**/*.lww', lwwType);
  registry.register('**/*.log', logType);
  registry.register('**/*.json', jsonType);
  registry.register('**/*.txt', textType);
  registry.register('**/*.md', textType);
  return registry;
}
