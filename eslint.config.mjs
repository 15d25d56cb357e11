// ESLint (flat config): typescript-eslint's recommended rules for the
// TypeScript and JavaScript sources; formatting is prettier's job
// (.prettierrc.json), C is clang-format's (.clang-format). `npm run lint`.
import tseslint from 'typescript-eslint';

export default tseslint.config(
	{
		ignores: [
			'out/**',
			'dist/**',
			'node_modules/**',
			'.cache/**',
			'native/**',
			'test/artifacts/**',
			'adapter/src/engine/protocol.generated.ts',
			'**/*.vsix',
		],
	},
	...tseslint.configs.recommended,
	{
		rules: {
			'@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
			'@typescript-eslint/no-explicit-any': 'error',
		},
	},
	{
		// tests may look into untyped JSON freely
		files: ['test/**/*.ts', 'bench/**/*.ts'],
		rules: { '@typescript-eslint/no-explicit-any': 'off', '@typescript-eslint/no-non-null-assertion': 'off' },
	},
	{
		files: ['**/*.js', '**/*.cjs'],
		languageOptions: {
			sourceType: 'commonjs',
			globals: {
				require: 'readonly',
				module: 'writable',
				process: 'readonly',
				__dirname: 'readonly',
				console: 'readonly',
				Buffer: 'readonly',
				setTimeout: 'readonly',
				clearTimeout: 'readonly',
			},
		},
		rules: { '@typescript-eslint/no-require-imports': 'off' },
	},
	{
		files: ['media/**/*.js'],
		languageOptions: {
			sourceType: 'script',
			globals: { acquireVsCodeApi: 'readonly', document: 'readonly', window: 'readonly' },
		},
	},
);
