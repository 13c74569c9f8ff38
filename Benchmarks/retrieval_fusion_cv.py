#!/usr/bin/env python3
"""Chooses hybrid fusion and rerank weights by cross-validation across BEIR-format sets.

Reads what `switchyard eval retrieval --export DIR` writes (passages.vec, queries.vec, bm25-scores.jsonl)
for each set, scores BM25, dense and a family of fusions / reranks (RRF with BM25 weights, min-max
weighted, z-scored exact scores over the union, the hybrid-scores rerank over the RRF or dense top 50),
then prints a table of nDCG@10 with each setting's margin over the better single retriever, and a
leave-one-set-out choice: the setting with the best mean margin on the other sets, scored on the one
left out. Exploration code (numpy); the figures to quote come from `switchyard eval retrieval`.

  python3 Benchmarks/retrieval-sets.py                      # the derived sets, into .build/retrieval-sets
  for s in msmarco paraphrase banking77 clinc150; do ... switchyard eval retrieval ... --export $EXPORTS/$s; done
  EXPORTS=/tmp/exports python3 Benchmarks/retrieval_fusion_cv.py
"""
import json, os, sys
import numpy as np

EXPORTS = os.environ.get("EXPORTS", "/tmp/exports")
DATA = {
    "msmarco": "../shared/data/retrieval/msmarco-subset",
    "paraphrase": ".build/retrieval-sets/paraphrase",
    "banking77": ".build/retrieval-sets/banking77",
    "clinc150": ".build/retrieval-sets/clinc150",
}


def readvec(p):
    b=open(p,'rb').read(); assert b[:8]==b'SYVEC001'
    n=int.from_bytes(b[8:16],'little'); d=int.from_bytes(b[16:20],'little')
    return np.frombuffer(b[64:],dtype='<f4').reshape(n,d)
def ndcg(rank, grades, k=10):
    dcg=sum(grades.get(d,0)/np.log2(i+2) for i,d in enumerate(rank[:k]) if grades.get(d,0)>0)
    ideal=sorted([g for g in grades.values() if g>0],reverse=True)[:k]
    idcg=sum(g/np.log2(i+2) for i,g in enumerate(ideal))
    return dcg/idcg if idcg>0 else None
def load(name):
    exp=os.path.join(EXPORTS,name); data=DATA[name]
    P=readvec(f'{exp}/passages.vec'); Q=readvec(f'{exp}/queries.vec')
    P=P/np.linalg.norm(P,axis=1,keepdims=True); Q=Q/np.linalg.norm(Q,axis=1,keepdims=True)
    cids=[json.loads(l)['_id'] for l in open(f'{data}/corpus.jsonl')]; idx={c:i for i,c in enumerate(cids)}
    qids=[json.loads(l)['_id'] for l in open(f'{data}/queries.jsonl')]; qpos={q:i for i,q in enumerate(qids)}
    B=np.zeros((len(qids),len(cids)),dtype=np.float32)
    for l in open(f'{exp}/bm25-scores.jsonl'):
        o=json.loads(l)
        for e in o['scores']: B[qpos[o['id']],idx[e['id']]]=e['score']
    J={}
    for l in open(f'{data}/qrels.tsv'):
        c=l.strip().split('\t')
        if len(c)==3 and c[2].lstrip('-').isdigit(): J.setdefault(c[0],{})[c[1]]=int(c[2])
    D=Q@P.T
    keep=[i for i,q in enumerate(qids) if any(v>0 for v in J.get(q,{}).values())]
    return dict(name=name,cids=cids,qids=qids,D=D,B=B,J=J,keep=keep)
def top(s,k):
    k=min(k,len(s)); i=np.argpartition(-s,k-1)[:k]; return i[np.lexsort((i,-s[i]))]
def rrf(lists,w,k=60):
    sc={}
    for l,wt in zip(lists,w):
        for r,d in enumerate(l): sc[d]=sc.get(d,0)+wt/(k+r+1)
    items=sorted(sc.items(),key=lambda x:(-x[1],x[0])); return np.array([d for d,_ in items])
def minmax(lists,scores,w):
    sc={}
    for l,s,wt in zip(lists,scores,w):
        v=s[l]; lo,hi=v.min(),v.max(); n=(v-lo)/(hi-lo) if hi>lo else np.ones_like(v)
        for d,x in zip(l,n): sc[d]=sc.get(d,0)+wt*x
    items=sorted(sc.items(),key=lambda x:(-x[1],x[0])); return np.array([d for d,_ in items])
def z(v):
    s=v.std(); return (v-v.mean())/s if s>1e-12 else np.zeros_like(v)
def rerank(order,d,b,wd,wb,n=50):
    head=order[:n]; sc=wd*z(d[head])+wb*z(b[head])
    o=np.lexsort((np.arange(len(head)),-sc)); return np.concatenate([head[o],order[n:]])
def score(ds,fn):
    v=[]
    for qi in ds['keep']:
        o=fn(qi); v.append(ndcg([ds['cids'][i] for i in o[:10]], ds['J'][ds['qids'][qi]]))
    return float(np.mean(v))
def systems(ds):
    D,B=ds['D'],ds['B']; cache={}
    def lists(qi):
        if qi not in cache: cache[qi]=(top(D[qi],100),top(B[qi],100))
        return cache[qi]
    out={}
    out['bm25']=score(ds,lambda q:lists(q)[1]); out['dense']=score(ds,lambda q:lists(q)[0])
    for wb in [0.1,0.25,0.33,0.5,0.75,1.0]:
        for k in [60]:
            out[f'rrf wb={wb}']=score(ds,lambda q:rrf(lists(q),[1,wb],k))
    for a in [0.5,0.6,0.7,0.75,0.8,0.9]:
        out[f'minmax a={a}']=score(ds,lambda q:minmax(lists(q),[D[q],B[q]],[a,1-a]))
    for base in ['rrf','dense']:
        for wb in [0,0.1,0.2,0.3,0.5,0.75,1.0]:
            f=(lambda q:rrf(lists(q),[1,1])) if base=='rrf' else (lambda q:lists(q)[0])
            out[f'rerank[{base}] wb={wb}']=score(ds,lambda q:rerank(f(q),D[q],B[q],1,wb))
    return out
def zfuse(ds, q, wd, wb, depth=100, cache={}):
    D,B=ds['D'][q],ds['B'][q]
    u=np.unique(np.concatenate([top(D,depth),top(B,depth)]))
    sc=wd*z(D[u])+wb*z(B[u]); o=np.lexsort((u,-sc)); return u[o]
def extra(ds):
    out={}
    for wb in [0.1,0.2,0.3,0.5,0.75,1.0]:
        out[f'zfuse wb={wb}']=score(ds,lambda q:zfuse(ds,q,1,wb))
    for k in [10,30,100]:
        out[f'rrf k={k}']=score(ds,lambda q:rrf((top(ds['D'][q],100),top(ds['B'][q],100)),[1,1],k))
    return out


names=['msmarco','paraphrase','banking77','clinc150']
res={}
for n in names:
    ds=load(n); r=systems(ds); r.update(extra(ds)); res[n]=r
keys=list(res[names[0]])
best={n:max(res[n]['bm25'],res[n]['dense']) for n in names}
print('system'.ljust(24)+''.join(n[:10].rjust(11) for n in names)+'  mean-margin  min-margin')
for k in keys:
    m=[res[n][k]-best[n] for n in names]
    print(k.ljust(24)+''.join(f'{res[n][k]:11.4f}' for n in names)+f'{np.mean(m):12.4f}{min(m):12.4f}')
fam=[k for k in keys if k not in ('bm25','dense')]
print('\nleave-one-set-out (choose by mean margin on the other three):')
for h in names:
    others=[n for n in names if n!=h]
    c=max(fam,key=lambda k:np.mean([res[n][k]-best[n] for n in others]))
    print(f'  held out {h}: chose {c}; held-out nDCG {res[h][c]:.4f} vs best single {best[h]:.4f} ({res[h][c]-best[h]:+.4f})')
for family in ("zfuse", "rerank[rrf]", "rrf wb"):
    members = [k for k in fam if k.startswith(family)]
    print(f'\nleave-one-set-out within "{family}" only:')
    for h in names:
        others = [n for n in names if n != h]
        c = max(members, key=lambda k: np.mean([res[n][k] - best[n] for n in others]))
        print(f'  held out {h}: chose {c}; held-out nDCG {res[h][c]:.4f} vs best single {best[h]:.4f} ({res[h][c]-best[h]:+.4f})')
