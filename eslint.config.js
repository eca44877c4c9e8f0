// ESLint flat config: typescript-eslint strictTypeChecked + stylisticTypeChecked, with the
// promise rules a daemon cannot do without (a dropped promise is a lost error or a zombie).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** Underscore-prefixed methods Node documents: the stream implementer's API. */
const DOCUMENTED_UNDERSCORE = '/^_(read|write|writev|final|destroy|construct|transform|flush)$/';

/** `process` members that are internal, undocumented or deprecated as unsupported. */
const UNDOCUMENTED_PROCESS = ['binding', '_linkedBinding', 'moduleLoadList', 'reallyExit', '_rawDebug', 'openStdin', 'assert'];

export default tseslint.config(
  { ignores: ['dist/', 'dist-bench/', 'node_modules/', 'coverage/', 'examples/', 'test/integration/fixtures/', 'bench/results/'] },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  ...tseslint.configs.stylisticTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: { allowDefaultProject: ['eslint.config.js', 'scripts/*.js'] }, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // Node's public APIs only (issue 12): no underscore-prefixed members (Node's private fields
    // and methods: `_destroyed`, `_handle`, `_getActiveHandles`, `Module._load`), except the
    // stream implementer's methods Node documents (`_read`, `_write`, `_writev`, `_final`,
    // `_destroy`, `_construct`, `_transform`, `_flush`); no undocumented `process` members; no
    // `async_hooks` APIs Node's docs tell users to migrate away from.
    files: ['src/**/*.ts'],
    rules: {
      'no-restricted-syntax': [
        'error',
        {
          selector: `MemberExpression[computed=false][property.name=/^_\\w/]:not([property.name=${DOCUMENTED_UNDERSCORE}])`,
          message: 'Node internals: use a public API instead of an underscore-prefixed member.',
        },
        {
          selector: 'MemberExpression[computed=true][property.type="Literal"][property.value=/^_\\w/]',
          message: 'Node internals: use a public API instead of an underscore-prefixed member.',
        },
        {
          selector: 'Property[parent.type="ObjectPattern"][key.name=/^_\\w/]',
          message: 'Node internals: do not destructure underscore-prefixed members.',
        },
        {
          selector: 'TSPropertySignature[key.name=/^_\\w/]',
          message: 'Node internals: do not type underscore-prefixed members of Node objects.',
        },
        {
          selector: 'CallExpression[callee.object.name="Reflect"] > Literal[value=/^_\\w/]',
          message: 'Node internals: use a public API instead of an underscore-prefixed member.',
        },
        {
          selector: 'BinaryExpression[operator="in"] > Literal.left[value=/^_\\w/]',
          message: 'Node internals: use a public API instead of an underscore-prefixed member.',
        },
        {
          selector: 'CallExpression[callee.name="require"][arguments.0.value=/^internal\\//]',
          message: "Node internals: `internal/…` modules are not Node's public API.",
        },
      ],
      'no-restricted-properties': [
        'error',
        ...UNDOCUMENTED_PROCESS.map((property) => ({
          object: 'process',
          property,
          message: 'Node internals: not a documented (or no longer supported) `process` member.',
        })),
      ],
      'no-restricted-imports': [
        'error',
        {
          paths: ['async_hooks', 'node:async_hooks'].map((name) => ({
            name,
            importNames: ['createHook', 'executionAsyncResource'],
            message: "Node's docs discourage these (use AsyncLocalStorage or process.getActiveResourcesInfo()).",
          })),
        },
      ],
    },
  },
  {
    files: ['**/*.test.ts', 'test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
  { files: ['eslint.config.js', 'scripts/*.js'], ...tseslint.configs.disableTypeChecked },
);
