// Package repocheck holds tests of the repository's shape rather than of its
// code's behaviour: the import layers, that the format packages stay free of
// Packer, that no test package ships in the plugin, that tests gate their
// tier one way (internal/testkit/testenv), and that every shell script passes
// shellcheck. Like go-containerregistry's depcheck, the rules fail a test
// instead of living in a comment.
package repocheck
