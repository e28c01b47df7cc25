package forkcheck

import (
	"bufio"
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// Marker marks a function a forked child starts in: the function handed
// to sys.Fork, and sys.rawFork itself, which returns into the child after
// clone. It goes among the function's //go: directives:
//
//	//go:nosplit
//	//go:norace
//	//netprog:forkchild
//	func forkChild() int {
//
// Roots finds every marked function in the module's sources, so a new
// entry point is checked as soon as it is marked, with no list to keep.
const Marker = "//netprog:forkchild"

// Roots parses the Go sources (test files left out) of the module that
// holds dir and returns the functions marked with Marker, named as in the
// binary's symbol table ("main.zombieChild", "netprog/servers.forkChild",
// "netprog/pkg.(*T).method"), sorted.
func Roots(dir string) ([]string, error) {
	root, module, err := findModule(dir)
	if err != nil {
		return nil, err
	}
	var roots []string
	fset := token.NewFileSet()
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if p != root && (strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") || name == "testdata" || name == "vendor") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, p, nil, parser.ParseComments|parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		pkg := f.Name.Name
		if pkg != "main" {
			rel, _ := filepath.Rel(root, filepath.Dir(p))
			pkg = path.Join(module, filepath.ToSlash(rel))
		}
		for _, decl := range f.Decls {
			if fn, ok := decl.(*ast.FuncDecl); ok && marked(fn) {
				roots = append(roots, pkg+"."+symbol(fn))
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Strings(roots)
	return roots, nil
}

// Pattern is a regular expression (for Check) that matches exactly the
// functions named.
func Pattern(names []string) string {
	quoted := make([]string, len(names))
	for i, n := range names {
		quoted[i] = regexp.QuoteMeta(n)
	}
	return "^(?:" + strings.Join(quoted, "|") + ")$"
}

func marked(fn *ast.FuncDecl) bool {
	if fn.Doc == nil {
		return false
	}
	for _, c := range fn.Doc.List {
		if strings.TrimSpace(c.Text) == Marker {
			return true
		}
	}
	return false
}

// symbol is a function's name in the symbol table, less the package.
func symbol(fn *ast.FuncDecl) string {
	if fn.Recv == nil || len(fn.Recv.List) == 0 {
		return fn.Name.Name
	}
	t := fn.Recv.List[0].Type
	star := false
	if s, ok := t.(*ast.StarExpr); ok {
		t, star = s.X, true
	}
	switch g := t.(type) { // a generic receiver's type parameters are not in the name
	case *ast.IndexExpr:
		t = g.X
	case *ast.IndexListExpr:
		t = g.X
	}
	recv := "?"
	if id, ok := t.(*ast.Ident); ok {
		recv = id.Name
	}
	if star {
		return "(*" + recv + ")." + fn.Name.Name
	}
	return recv + "." + fn.Name.Name
}

// findModule returns the directory holding go.mod at or above dir, and the
// module path it declares.
func findModule(dir string) (root, module string, err error) {
	dir, err = filepath.Abs(dir)
	if err != nil {
		return "", "", err
	}
	for {
		f, err := os.Open(filepath.Join(dir, "go.mod"))
		if err == nil {
			defer f.Close()
			sc := bufio.NewScanner(f)
			for sc.Scan() {
				if m, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "module "); ok {
					return dir, strings.Trim(strings.TrimSpace(m), `"`), nil
				}
			}
			return "", "", errors.New(filepath.Join(dir, "go.mod") + ": no module line")
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", "", errors.New("no go.mod at or above " + dir)
		}
		dir = parent
	}
}
