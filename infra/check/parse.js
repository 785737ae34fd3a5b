#!/usr/bin/env node
// Parses Bicep (.bicep) and Bicep parameter (.bicepparam) files with
// tree-sitter-bicep (pinned in tools/package.json) and prints, as JSON, the
// syntax errors and the facts the Go checks in infra/ assert on: parameters,
// outputs, resources (with their top-level and `properties` values, their
// condition and loop, and every nested value by dotted path), app settings
// (objects with a literal `name` and a `value`) and every `key: literal`
// property.
//
// Usage: node infra/check/parse.js FILE...
//
// This is a syntax tree, not the Bicep compiler: types, property names and
// API versions are not checked (docs/platform/functions-host-facts.md §5.5).
'use strict';

const fs = require('fs');
const path = require('path');
const { createRequire } = require('module');

// tree-sitter lives in tools/node_modules (installed by `make tools`).
const toolsRequire = createRequire(path.join(__dirname, '..', '..', 'tools', 'package.json'));
const Parser = toolsRequire('tree-sitter');
const Bicep = toolsRequire('tree-sitter-bicep');

const parser = new Parser();
parser.setLanguage(Bicep);

/** Text of a string node if it has no interpolation, else null. */
function literal(node) {
  if (!node || node.type !== 'string') return null;
  if (node.namedChildren.some((c) => c.type === 'interpolation')) return null;
  return node.namedChildren
    .filter((c) => c.type === 'string_content' || c.type === 'escape_sequence')
    .map((c) => c.text)
    .join('');
}

/** Key of an object_property (identifier or quoted string). */
function propertyKey(prop) {
  const key = prop.namedChildren[0];
  if (!key) return null;
  return key.type === 'string' ? literal(key) : key.text;
}

/** Value node of an object_property. */
function propertyValue(prop) {
  return prop.namedChildren[prop.namedChildren.length - 1];
}

/** Map of key -> value text of an object node's own properties. */
function objectMap(obj) {
  const out = {};
  if (!obj || obj.type !== 'object') return out;
  for (const prop of obj.namedChildren) {
    if (prop.type !== 'object_property') continue;
    const key = propertyKey(prop);
    if (key !== null) out[key] = propertyValue(prop).text;
  }
  return out;
}

/** The object node of a resource or module body (plain, conditional or loop). */
function bodyObject(node) {
  for (const c of node.namedChildren) {
    if (c.type === 'object') return c;
    if (c.type === 'if_statement' || c.type === 'for_statement') {
      const inner = c.namedChildren.find((x) => x.type === 'object');
      if (inner) return inner;
    }
  }
  return null;
}

/**
 * In a .bicepparam file `param x = value` has no type; tree-sitter-bicep
 * 1.1.0 only knows `param x type = value` and reports a MISSING identifier
 * in an empty type slot. That one shape is the parameter file syntax, not an
 * error. (Ancestors are tracked by the walk: the binding's `parent` skips
 * the zero-width type node.)
 */
function isUntypedParamAssignment(node, ancestors, file) {
  const parent = ancestors[ancestors.length - 1];
  const grandparent = ancestors[ancestors.length - 2];
  return (
    file.endsWith('.bicepparam') &&
    node.isMissing &&
    node.type === 'identifier' &&
    parent !== undefined &&
    parent.type === 'type' &&
    parent.startIndex === parent.endIndex &&
    grandparent !== undefined &&
    grandparent.type === 'parameter_declaration'
  );
}

/**
 * {variable, index, over} of a resource or module loop `[for x in xs: {...}]`
 * or `[for (x, i) in xs: {...}]`, else null.
 */
function loopOf(node) {
  const loop = node.namedChildren.find((c) => c.type === 'for_statement');
  if (!loop) return null;
  const kids = loop.namedChildren.filter((c) => c.type !== 'object');
  let variable = kids[0] ? kids[0].text : '';
  let index = '';
  const m = /^\(\s*(\w+)\s*,\s*(\w+)\s*\)$/.exec(variable);
  if (m) {
    variable = m[1];
    index = m[2];
  }
  return { variable, index, over: kids[1] ? kids[1].text : '' };
}

/** Condition of a resource or module `if (...)`, without the parentheses, else null. */
function conditionOf(node) {
  const cond = node.namedChildren.find((c) => c.type === 'if_statement');
  if (!cond) return null;
  const expr = cond.namedChildren.find((c) => c.type !== 'object');
  return expr ? expr.text.replace(/^\(\s*/, '').replace(/\s*\)$/, '') : null;
}

/**
 * Every value under an object by dotted path (array elements by index):
 * {"properties.networkAcls.defaultAction": "restrictNetwork ? 'Deny' : 'Allow'", ...}.
 * Objects and arrays are listed too, with their text.
 */
function flatten(node, prefix, out) {
  if (node.type === 'object') {
    for (const prop of node.namedChildren) {
      if (prop.type !== 'object_property') continue;
      const key = propertyKey(prop);
      if (key === null) continue;
      const value = propertyValue(prop);
      const path = prefix ? prefix + '.' + key : key;
      out[path] = value.text;
      flatten(value, path, out);
    }
  } else if (node.type === 'array') {
    node.namedChildren.forEach((item, i) => {
      const path = prefix + '.' + i;
      out[path] = item.text;
      flatten(item, path, out);
    });
  }
  return out;
}

function analyse(file) {
  const source = fs.readFileSync(file, 'utf8');
  const tree = parser.parse(source);
  const result = {
    file,
    errors: [],
    params: [],
    outputs: [],
    resources: [],
    modules: [],
    settings: [],
    properties: [],
    using: null,
  };
  const walk = (node, ancestors) => {
    if (node.type === 'ERROR' || (node.isMissing && !isUntypedParamAssignment(node, ancestors, file))) {
      result.errors.push({
        kind: node.isMissing ? 'MISSING ' + node.type : 'ERROR',
        line: node.startPosition.row + 1,
        column: node.startPosition.column + 1,
        text: node.text.slice(0, 80),
      });
    }
    switch (node.type) {
      case 'using_statement':
        result.using = literal(node.namedChildren[0]);
        break;
      case 'parameter_declaration': {
        const name = node.namedChildren[0];
        const rest = node.namedChildren.slice(1).filter((c) => c.type !== 'type');
        result.params.push({
          name: name ? name.text : '',
          default: rest.length ? rest[rest.length - 1].text : null,
          line: node.startPosition.row + 1,
        });
        break;
      }
      case 'output_declaration': {
        const kids = node.namedChildren;
        result.outputs.push({
          name: kids[0] ? kids[0].text : '',
          value: kids.length > 2 ? kids[kids.length - 1].text : '',
          line: node.startPosition.row + 1,
        });
        break;
      }
      case 'resource_declaration':
      case 'module_declaration': {
        const body = bodyObject(node);
        const top = objectMap(body);
        let props = {};
        if (body) {
          const p = body.namedChildren.find((c) => c.type === 'object_property' && propertyKey(c) === 'properties');
          if (p) props = objectMap(propertyValue(p));
        }
        const entry = {
          symbol: node.namedChildren[0] ? node.namedChildren[0].text : '',
          type: literal(node.namedChildren[1]) || '',
          existing: node.children.some((c) => c.type === 'existing'),
          loop: loopOf(node),
          condition: conditionOf(node),
          paths: body ? flatten(body, '', {}) : {},
          top,
          properties: props,
          line: node.startPosition.row + 1,
        };
        (node.type === 'module_declaration' ? result.modules : result.resources).push(entry);
        break;
      }
      case 'object': {
        const m = {};
        const nameNodes = {};
        for (const prop of node.namedChildren) {
          if (prop.type !== 'object_property') continue;
          const key = propertyKey(prop);
          m[key] = propertyValue(prop);
          nameNodes[key] = prop;
        }
        if (m.name && m.value && literal(m.name) !== null && Object.keys(m).length === 2) {
          result.settings.push({ name: literal(m.name), value: m.value.text, line: node.startPosition.row + 1 });
        }
        break;
      }
      case 'object_property': {
        const key = propertyKey(node);
        const value = propertyValue(node);
        if (key !== null && ['boolean', 'string', 'number', 'null'].includes(value.type)) {
          result.properties.push({
            key,
            value: value.type === 'string' && literal(value) !== null ? literal(value) : value.text,
            kind: value.type,
            line: node.startPosition.row + 1,
          });
        }
        break;
      }
      default:
        break;
    }
    ancestors.push(node);
    for (const child of node.children) walk(child, ancestors);
    ancestors.pop();
  };
  walk(tree.rootNode, []);
  return result;
}

const files = process.argv.slice(2);
if (files.length === 0) {
  process.stderr.write('usage: node infra/check/parse.js FILE...\n');
  process.exit(2);
}
process.stdout.write(JSON.stringify(files.map(analyse), null, 1) + '\n');
