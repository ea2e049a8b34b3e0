#!/usr/bin/env bash
# Turns the docs that `packer-sdc renderdocs` rendered (partials included) into
# the layout HashiCorp's Packer integration registry reads:
#
#   docs/README.md               -> .web-docs/README.md
#   docs/<kind>s/<slug>.mdx      -> .web-docs/components/<kind>/<slug>/README.md
#
# (kind: builder, provisioner, post-processor; datasources -> data-source).
# The registry shows its own title, so the front matter and the first "# "
# heading are dropped. Links written for the old Packer plugin pages
# (/packer/plugins/<kinds>/<plugin>/<slug>) are pointed at the integration
# pages. Same arguments as the scaffolding's script of this name:
#
#   compile-to-webdocs.sh <plugin dir> <rendered docs dir> <web-docs dir> <org>
#
# components/ is rebuilt from scratch, so a removed component leaves no page
# behind; metadata.hcl and this script are left alone.
set -euo pipefail

if (($# != 4)); then
	echo "usage: $0 <plugin dir> <rendered docs dir> <web-docs dir> <org>" >&2
	exit 2
fi
root=$1 src=$1/$2 dst=$1/$3 org=$4

# kind_of maps a docs folder (builders) to the registry's component type.
kind_of() {
	case $1 in
	builders) echo builder ;;
	provisioners) echo provisioner ;;
	post-processors) echo post-processor ;;
	datasources) echo data-source ;;
	*) return 1 ;;
	esac
}

# body prints a rendered page without its front matter and top heading.
body() {
	awk '
		NR == 1 && $0 == "---" { fm = 1; next }
		fm { if ($0 == "---") fm = 0; next }
		!started && /^[[:space:]]*$/ { next }
		!started && !h1 && /^# / { h1 = 1; next }
		{ started = 1; print }
	' "$1"
}

# links rewrites /packer/plugins/ links to integration pages.
links() {
	local kinds='(builders|provisioners|post-processors|datasources)' seg='([^/)#]+)' anchor='(#[^)]*)?'
	sed -E \
		-e "s~\(/packer/plugins/$kinds/$seg/$seg$anchor\)~(/packer/integrations/$org/\2/latest/components/\1/\3\4)~g" \
		-e "s~\(/packer/plugins/$kinds/$seg$anchor\)~(/packer/integrations/$org/\2\3)~g" \
		-e "s~/components/builders/~/components/builder/~g" \
		-e "s~/components/provisioners/~/components/provisioner/~g" \
		-e "s~/components/post-processors/~/components/post-processor/~g" \
		-e "s~/components/datasources/~/components/data-source/~g"
}

[[ -f $src/README.md ]] || { echo "$0: $src/README.md missing: docs/README.md is the integration's landing page" >&2; exit 1; }
mkdir -p "$dst"
rm -rf "$dst/components"
cp "$src/README.md" "$dst/README.md"

n=0
shopt -s nullglob
for page in "$src"/*/*.mdx; do
	folder=$(basename "$(dirname "$page")")
	slug=$(basename "$page" .mdx)
	[[ $slug == index ]] && continue # index pages have no place in the registry
	if ! kind=$(kind_of "$folder"); then
		echo "$0: $page: folder $folder is not one of builders, provisioners, post-processors, datasources" >&2
		exit 1
	fi
	out=$dst/components/$kind/$slug
	mkdir -p "$out"
	body "$page" | links >"$out/README.md.tmp"
	mv "$out/README.md.tmp" "$out/README.md"
	n=$((n + 1))
done
echo "compile-to-webdocs: $n component pages in ${dst#"$root"/}/components"
